import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppModule } from '../../sample/app.module.js';
import { loadSampleConfig } from '../../sample/sample.config.js';
import { TestClient } from '../support/test-client.js';
import { hsToken } from '../support/tokens.js';

const SECRET = 'sample-e2e-secret-0123456789abcdef';

describe('sample app (e2e)', () => {
  let app: INestApplication;
  let url: string;
  let http: string;

  beforeAll(async () => {
    const config = loadSampleConfig({ JWT_SECRET: SECRET, NODE_ID: 'sample-1', LOG_LEVEL: 'error' });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address();
    url = `ws://127.0.0.1:${port}/ws`;
    http = `http://127.0.0.1:${port}`;
  });
  afterAll(() => app.close());

  it('reports health with the node id and Redis off', async () => {
    const response = await fetch(`${http}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', node_id: 'sample-1', redis: 'off' });
  });

  it('authenticates with JWT_SECRET and refuses tokens signed otherwise', async () => {
    const client = await TestClient.connect(`${url}?token=${hsToken({ user_id: 'u1', username: 'ann' }, SECRET)}`);
    await client.next('connected');
    expect((await client.next('auth_success')).data).toEqual({ user_id: 'u1', username: 'ann', roles: [] });
    expect((await client.request({ type: 'auth', id: 'x', data: { token: hsToken({ user_id: 'u1' }) } })).type).toBe(
      'auth_error',
    );
    await client.close();
  });

  it('serves admin_message to admins only, with the identity of the connection, not of the message', async () => {
    const admin = await TestClient.connect(`${url}?token=${hsToken({ user_id: 'root', roles: ['admin'] }, SECRET)}`);
    await admin.next('auth_success');
    const announcement = await admin.request({
      type: 'admin_message',
      id: 'a1',
      data: { content: 'maintenance at 5', from_user_id: 'somebody-else', user_id: 'x', username: 'y' },
    });
    expect(announcement).toMatchObject({
      type: 'announcement',
      id: 'a1',
      data: { content: 'maintenance at 5', from_user_id: 'root' },
    });
    expect(Date.parse(announcement.data.timestamp)).not.toBeNaN();
    expect((await admin.request({ type: 'admin_message', id: 'a2', data: {} })).data.code).toBe('BAD_REQUEST');

    const user = await TestClient.connect(`${url}?token=${hsToken({ user_id: 'joe', roles: ['user'] }, SECRET)}`);
    await user.next('auth_success');
    expect((await user.request({ type: 'admin_message', id: 'u1', data: { content: 'hi' } })).type).toBe(
      'authorization_error',
    );
    await Promise.all([admin.close(), user.close()]);
  });
});

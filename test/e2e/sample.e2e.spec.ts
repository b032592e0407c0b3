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

  it('lists rooms and broadcasts a REST post to the room’s WebSocket members', async () => {
    const member = await TestClient.connect(`${url}?token=${hsToken({ user_id: 'm1', username: 'Mia' }, SECRET)}`);
    await member.next('auth_success');
    await member.request({ type: 'join_room', id: 'j', data: { room_id: 'news' } });
    expect((await fetch(`${http}/rooms`)).status).toBe(401);
    const wrong = hsToken({ user_id: 'x' }, 'another-secret-0123456789abcdef');
    expect((await fetch(`${http}/rooms`, { headers: { authorization: `Bearer ${wrong}` } })).status).toBe(401);
    const reader = hsToken({ user_id: 'r1' }, SECRET);
    const rooms = await (await fetch(`${http}/rooms`, { headers: { authorization: `Bearer ${reader}` } })).json();
    expect(rooms).toEqual([{ id: 'news', client_count: 1, metadata: {} }]);

    const post = (headers: Record<string, string>, body: object = { content: 'from REST' }) =>
      fetch(`${http}/rooms/news/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const editor = hsToken({ user_id: 'ed', username: 'Editor' }, SECRET);
    const response = await post({ authorization: `Bearer ${editor}` });
    expect(response.status).toBe(202);
    const { room_id, seq } = (await response.json()) as { room_id: string; seq: number };
    expect(room_id).toBe('news');
    const frame = await member.next('chat_message');
    expect(frame).toMatchObject({
      room: 'news',
      seq,
      data: { room_id: 'news', user_id: 'ed', username: 'Editor', content: 'from REST' },
    });

    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: `Bearer ${hsToken({ user_id: 'x' }, 'wrong-secret')}` })).status).toBe(401);
    expect((await post({ authorization: `Bearer ${editor}` }, {})).status).toBe(400);
    const badRoom = await fetch(`${http}/rooms/${encodeURIComponent('no spaces')}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${editor}` },
      body: JSON.stringify({ content: 'x' }),
    });
    expect(badRoom.status).toBe(400);
    expect(await badRoom.json()).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'room_id must be 1..128 characters of [A-Za-z0-9_.:@#/-]',
    });
    const second = (await (await post({ authorization: `Bearer ${editor}` })).json()) as { seq: number };
    expect(second.seq).toBe(seq + 1);
    await member.close();
  });

  it('serves admin_message to admins only, with the identity of the connection, not of the message', async () => {
    const admin = await TestClient.connect(`${url}?token=${hsToken({ user_id: 'root', roles: ['admin'] }, SECRET)}`);
    await admin.next('auth_success');
    const user = await TestClient.connect(`${url}?token=${hsToken({ user_id: 'joe', roles: ['user'] }, SECRET)}`);
    await user.next('auth_success');
    admin.send({
      type: 'admin_message',
      id: 'a1',
      data: { content: 'maintenance at 5', from_user_id: 'somebody-else', user_id: 'x', username: 'y' },
    });
    for (const client of [admin, user]) {
      const announcement = await client.next('announcement');
      expect(announcement.data).toEqual({
        content: 'maintenance at 5',
        from_user_id: 'root',
        timestamp: expect.any(String),
      });
      expect(Date.parse(announcement.data.timestamp)).not.toBeNaN();
    }
    expect((await admin.request({ type: 'admin_message', id: 'a2', data: {} })).data.code).toBe('BAD_REQUEST');

    expect((await user.request({ type: 'admin_message', id: 'u1', data: { content: 'hi' } })).type).toBe(
      'authorization_error',
    );
    await Promise.all([admin.close(), user.close()]);
  });
});

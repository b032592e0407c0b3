import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppModule } from '../../sample/app.module.js';
import { loadSampleConfig } from '../../sample/sample.config.js';
import { TestClient } from '../support/test-client.js';
import { hsToken } from '../support/tokens.js';

const SECRET = 'sample-limits-e2e-secret-0123456789abcdef';
const REST_RATE_LIMIT = 3;

/** The sample's room policy and REST rate limit (PROTOCOL.md, "HTTP routes of the sample"). */
describe('sample app: room policy and REST rate limit (e2e)', () => {
  let app: INestApplication;
  let url: string;
  let http: string;

  beforeAll(async () => {
    const config = loadSampleConfig({
      JWT_SECRET: SECRET,
      LOG_LEVEL: 'error',
      REST_RATE_LIMIT: String(REST_RATE_LIMIT),
    });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address();
    url = `ws://127.0.0.1:${port}/ws`;
    http = `http://127.0.0.1:${port}`;
  });
  afterAll(() => app.close());

  const tokenOf = (userId: string, roles: string[] = [], username = userId) =>
    hsToken({ user_id: userId, username, roles }, SECRET);
  const post = (roomId: string, token: string, content = 'hello') =>
    fetch(`${http}/rooms/${roomId}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ content }),
    });
  async function member(token: string): Promise<TestClient> {
    const client = await TestClient.connect(`${url}?token=${token}`);
    await client.next('auth_success');
    return client;
  }

  it('refuses a poster the room policy refuses with 403, and refuses the same user a WebSocket join of that room', async () => {
    const admin = await member(tokenOf('boss', ['admin']));
    expect((await admin.request({ type: 'join_room', id: 'j', data: { room_id: 'admin-ops' } })).type).toBe(
      'room_joined',
    );

    const refused = await post('admin-ops', tokenOf('pat'), 'not for you');
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      code: 'FORBIDDEN',
      message: 'not allowed to post to room "admin-ops"',
    });
    expect((await post('staff-room', tokenOf('pat'))).status).toBe(403);

    const pat = await member(tokenOf('pat'));
    const join = await pat.request({ type: 'join_room', id: 'j', data: { room_id: 'admin-ops' } });
    expect([join.type, join.data.code]).toEqual(['error', 'FORBIDDEN']);
    // An ordinary room is open to the same user, over both ways in.
    expect((await pat.request({ type: 'join_room', id: 'k', data: { room_id: 'lobby' } })).type).toBe('room_joined');
    expect((await post('lobby', tokenOf('pat'))).status).toBe(202);

    // The admin may post, and the room's members get that post and nothing of the refused one.
    const accepted = await post('admin-ops', tokenOf('chief', ['admin']), 'for admins');
    expect(accepted.status).toBe(202);
    expect((await admin.next('chat_message')).data).toMatchObject({ user_id: 'chief', content: 'for admins' });
    await Promise.all([admin.close(), pat.close()]);
  });

  it(`answers 429 to the post after ${REST_RATE_LIMIT} per minute, per user (not per address)`, async () => {
    const ann = tokenOf('ann');
    for (let i = 0; i < REST_RATE_LIMIT; i++) expect((await post('news', ann)).status).toBe(202);
    const limited = await post('news', ann);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      code: 'RATE_LIMITED',
      message: `too many requests: at most ${REST_RATE_LIMIT} per 60 s`,
    });
    // The same user with another token (another name) is the same budget...
    expect((await post('news', tokenOf('ann', [], 'Ann again'))).status).toBe(429);
    // ...and another user from the same address has a budget of their own.
    const bob = tokenOf('bob');
    for (let i = 0; i < REST_RATE_LIMIT; i++) expect((await post('news', bob)).status).toBe(202);
    expect((await post('news', bob)).status).toBe(429);
    // Reading the room list is not a post: not limited.
    expect((await fetch(`${http}/rooms`, { headers: { authorization: `Bearer ${ann}` } })).status).toBe(200);
  });
});

describe('sample config: room policy and REST rate limit', () => {
  it('reads WS_COMPRESSION: off by default, on or off, nothing else', () => {
    expect(loadSampleConfig({}).compression).toBe(false);
    expect(loadSampleConfig({ WS_COMPRESSION: 'off' }).compression).toBe(false);
    expect(loadSampleConfig({ WS_COMPRESSION: 'on' }).compression).toBe(true);
    expect(() => loadSampleConfig({ WS_COMPRESSION: 'yes' })).toThrow(
      'Environment variable WS_COMPRESSION must be "on" or "off" (got "yes")',
    );
  });

  it('reads ADMIN_ROOM_PREFIXES and REST_RATE_LIMIT, with their defaults', () => {
    expect(loadSampleConfig({})).toMatchObject({ adminRoomPrefixes: ['admin-', 'staff-'], restRateLimit: 60 });
    expect(loadSampleConfig({ ADMIN_ROOM_PREFIXES: ' ops- , ,hr-', REST_RATE_LIMIT: '0' })).toMatchObject({
      adminRoomPrefixes: ['ops-', 'hr-'],
      restRateLimit: 0,
    });
    expect(loadSampleConfig({ ADMIN_ROOM_PREFIXES: '' }).adminRoomPrefixes).toEqual([]);
    expect(() => loadSampleConfig({ REST_RATE_LIMIT: 'lots' })).toThrow(
      'REST_RATE_LIMIT must be a non-negative integer',
    );
  });
});

import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { createConnection } from 'node:net';
import {
  ConnectionManager,
  type RealtimeUser,
  type TokenClaims,
  TokenValidator,
  UserProvider,
} from '../../lib/index.js';
import { RealtimeStats } from '../../lib/stats/realtime-stats.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient, upgradeStatus } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';

const ada = { user_id: 'u-1', username: 'ada', roles: ['editor'] };

/** Answers a tick later: the handshake goes through the asynchronous admission. */
@Injectable()
class LaterValidator extends TokenValidator {
  async validate(token: string): Promise<TokenClaims> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (token !== 'good') throw new Error('bad token');
    return { user_id: 'u-1', exp: Math.floor(Date.now() / 1000) + 60 };
  }
}

@Injectable()
class LaterUsers extends UserProvider {
  async findUser(userId: string): Promise<RealtimeUser | undefined> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return userId === 'u-1' ? { id: 'u-1', username: 'ada (later)', roles: [] } : undefined;
  }
}

/** The raw bytes the server sends after an upgrade request, until `bytes` arrived. */
function rawUpgrade(port: number, path: string, bytes: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      if (Buffer.concat(chunks).length >= bytes) {
        socket.destroy();
        resolve(chunks);
      }
    });
    socket.on('error', reject);
  });
}

describe('handshake admission, synchronous and asynchronous (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('admits a good token at once and refuses a bad one with 401 (default validator)', async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET } });
    expect(await upgradeStatus(`${t.url}?token=${hsToken(ada, 'another-secret-0123456789abcdef')}`)).toBe(401);
    expect(await upgradeStatus(`${t.url}?token=${hsToken({ ...ada, exp: 1 })}`)).toBe(401);
    const client = await TestClient.connect(`${t.url}?token=${hsToken(ada)}`);
    expect((await client.next('connected')).data.client_id).toEqual(expect.any(String));
    expect((await client.next('auth_success')).data).toEqual({ user_id: 'u-1', username: 'ada', roles: ['editor'] });
    expect(t.app.get(RealtimeStats).rejectedUpgrades.unauthorized).toBe(2);
    expect(t.app.get(ConnectionManager).countByUser('u-1')).toBe(1);
    await client.close();
  });

  it('sends the 101 response, connected and auth_success in one write', async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET } });
    const port = Number(new URL(t.url).port);
    const chunks = await rawUpgrade(port, `/ws?token=${hsToken(ada)}`, 1);
    const text = Buffer.concat(chunks).toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 101 /);
    expect(text).toContain('"type":"connected"');
    expect(text).toContain('"type":"auth_success"');
  });

  it('waits for an asynchronous validator and user provider, and refuses with 401 after them', async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET } }, {}, undefined, {
      tokenValidator: LaterValidator,
      userProvider: LaterUsers,
    });
    expect(await upgradeStatus(`${t.url}?token=bad`)).toBe(401);
    const client = await TestClient.connect(`${t.url}?token=good`);
    await client.next('connected');
    expect((await client.next('auth_success')).data).toEqual({ user_id: 'u-1', username: 'ada (later)', roles: [] });
    expect(t.app.get(RealtimeStats).rejectedUpgrades.unauthorized).toBe(1);
    await client.close();
  });

  it('limits connections per user on the synchronous path too (429)', async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET }, maxConnectionsPerUser: 1 });
    const url = `${t.url}?token=${hsToken(ada)}`;
    const first = await TestClient.connect(url);
    await first.next('auth_success');
    expect(await upgradeStatus(url)).toBe(429);
    await first.close();
  });
});

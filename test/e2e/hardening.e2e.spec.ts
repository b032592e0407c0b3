import { createConnection } from 'node:net';
import { Injectable } from '@nestjs/common';
import { afterEach, describe, expect, it } from '@jest/globals';
import { OnMessage, type TokenClaims, TokenValidator } from '../../lib/index.js';
import { RealtimeStats } from '../../lib/stats/realtime-stats.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient, upgradeStatus } from '../support/test-client.js';
import { hsToken, nowSeconds, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';

@Injectable()
class UnserializableHandlers {
  @OnMessage('bigint', { reply: 'bigint' })
  async bigint(): Promise<object> {
    return { n: 10n };
  }
}

/** Validates like the default after a delay, to keep handshakes pending. */
@Injectable()
class SlowValidator extends TokenValidator {
  validate(token: string): Promise<TokenClaims> {
    return new Promise((resolve) => setTimeout(() => resolve({ user_id: token, exp: nowSeconds() + 60 }), 150));
  }
}

const rawUpgrade = (port: number, path: string): string =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

describe('hardening (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const port = () => Number(new URL(t!.http).port);

  it('survives a peer that resets the connection while its upgrade is refused or being admitted', async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET } }, {}, undefined, { tokenValidator: SlowValidator });
    for (const path of ['/nope', `/ws?token=u1`]) {
      await new Promise<void>((resolve) => {
        const socket = createConnection({ host: '127.0.0.1', port: port() }, () => {
          socket.write(rawUpgrade(port(), path));
          setTimeout(() => {
            socket.resetAndDestroy();
            resolve();
          }, 20);
        });
        socket.on('error', () => undefined);
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await fetch(`${t.http}/`)).status).toBe(404);
    expect(await upgradeStatus(`${t.url}?token=u2`)).toBe(101);
  });

  it('answers INTERNAL for a reply that cannot be serialized, and keeps the connection', async () => {
    // maxJsonDepth (default 32) would refuse the deep frame below as BAD_MESSAGE before any
    // handler (test/e2e/json-depth.e2e.spec.ts); lifted here so that the echo's reply is what fails.
    t = await createTestApp({ maxJsonDepth: 1_000_000 }, { providers: [UnserializableHandlers] });
    const client = await TestClient.connect(t.url);
    await client.next('connected');
    let nested = '1';
    for (let i = 0; i < 100_000; i++) nested = `[${nested}]`;
    client.sendRaw(`{"type":"echo","id":"deep","data":${nested}}`);
    expect(await client.next()).toMatchObject({
      type: 'error',
      id: 'deep',
      data: { code: 'INTERNAL', message: 'internal error' },
    });
    expect(await client.request({ type: 'bigint', id: 'b' })).toMatchObject({
      type: 'error',
      data: { code: 'INTERNAL' },
    });
    expect((await client.request({ type: 'echo', id: 'ok', data: 1 })).type).toBe('echo_response');
    await client.close();
  });

  it('logs a few of the errors one connection causes, then holds the rest back and says how many', async () => {
    const lines: string[] = [];
    const capture = {
      log: () => undefined,
      warn: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
      error: (message: unknown) => lines.push(String(message)),
    };
    t = await createTestApp({ rateLimit: false }, { providers: [UnserializableHandlers] }, (app) =>
      app.useLogger(capture),
    );
    const abuser = await TestClient.connect(t.url);
    const other = await TestClient.connect(t.url);
    await Promise.all([abuser.next('connected'), other.next('connected')]);
    // Pipelined: every one fails to serialize (a BigInt), each answered INTERNAL.
    for (let i = 0; i < 40; i++) abuser.send({ type: 'bigint', id: `b${i}` });
    for (let i = 0; i < 40; i++) expect((await abuser.next('error')).data.code).toBe('INTERNAL');
    expect(lines.filter((line) => line.includes('could not be serialized'))).toHaveLength(5);
    // The budget is per connection: another client's error is still logged.
    expect((await other.request({ type: 'bigint', id: 'o' })).data.code).toBe('INTERNAL');
    expect(lines.filter((line) => line.includes('could not be serialized'))).toHaveLength(6);
    await Promise.all([abuser.close(), other.close()]);
  });

  it('refuses a huge Origin quickly and treats a throwing origin predicate as a refusal', async () => {
    t = await createTestApp({ allowedOrigins: ['https://chat.example.com'] });
    // CPU time, not wall-clock time: a busy machine makes the second longer, not the first (a
    // backtracking pattern on this Origin would burn seconds of CPU).
    const cpu = process.cpuUsage();
    for (let i = 0; i < 5; i++) {
      expect(await upgradeStatus(t.url, { origin: `https://a${'/'.repeat(16_000)}x` })).toBe(403);
    }
    const { user, system } = process.cpuUsage(cpu);
    expect((user + system) / 1000).toBeLessThan(1000);
    await t.close();
    t = await createTestApp({ allowedOrigins: (origin) => origin!.endsWith('.example.com') });
    expect(await upgradeStatus(t.url)).toBe(403); // no Origin: the predicate throws
    expect(await upgradeStatus(t.url, { origin: 'https://a.example.com' })).toBe(101);
  });

  it('holds maxConnectionsPerAddress against concurrent handshakes', async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET }, maxConnectionsPerAddress: 2 }, {}, undefined, {
      tokenValidator: SlowValidator,
    });
    const statuses = await Promise.all(Array.from({ length: 10 }, (_, i) => upgradeStatus(`${t!.url}?token=u${i}`)));
    expect(statuses.filter((s) => s === 101)).toHaveLength(2);
    expect(statuses.filter((s) => s === 429)).toHaveLength(8);
  });

  it('refuses upgrades still being admitted at shutdown with 503 without waiting for them', async () => {
    let validating = 0;
    // A handshake timeout longer than the test's own: a close that waited for the pending
    // upgrade would fail the test by timing out, whatever the machine's load.
    t = await createTestApp({ auth: { secret: TEST_SECRET }, handshakeTimeout: 60_000 }, {}, undefined, {
      tokenValidator: class extends TokenValidator {
        validate(): Promise<TokenClaims> {
          validating++;
          return new Promise(() => undefined);
        }
      },
    });
    const status = upgradeStatus(`${t.url}?token=hangs`);
    await until(() => validating === 1);
    await t.close();
    t = undefined;
    expect(await status).toBe(503);
  });

  it('handles nothing more from a connection the server is closing', async () => {
    t = await createTestApp();
    const client = await TestClient.connect(t.url);
    await client.next('connected');
    client.sendRaw(Buffer.from('{"type":"echo"}'), true);
    for (let i = 0; i < 5; i++) client.send({ type: 'echo', id: `after-${i}` });
    expect((await client.closed).code).toBe(1003);
    expect(client.frames.filter((f) => f.type === 'echo_response')).toHaveLength(0);
    expect(t.app.get(RealtimeStats).serverCloses.get(1003)).toBe(1);
  });

  it('keeps a token accepted within the clock tolerance usable within it', async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET, clockToleranceSeconds: 60 } });
    const client = await TestClient.connect(`${t.url}?token=${hsToken({ user_id: 'late', exp: nowSeconds() - 20 })}`);
    await client.next('auth_success');
    expect((await client.request({ type: 'echo', id: 'e', data: 1 })).type).toBe('echo_response');
    await client.close();
  });

  it('ignores a handshake token when authentication is not configured', async () => {
    t = await createTestApp();
    expect(await upgradeStatus(`${t.url}?token=abc`)).toBe(101);
    expect(await upgradeStatus(t.url, { headers: { authorization: 'Bearer x' } })).toBe(101);
  });

  it('refuses auth without a secret, a public key or a custom validator at start-up', async () => {
    await expect(createTestApp({ auth: {} })).rejects.toThrow(
      'RealtimeModule option "auth" needs "secret" (HS256) or "publicKey" (RS256/ES256), or a custom tokenValidator',
    );
  });
});

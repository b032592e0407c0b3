import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { WebSocket } from 'ws';
import { RealtimeClient } from '../../lib/client/index.js';
import { RealtimeStats } from '../../lib/stats/realtime-stats.js';
import { OverloadShedding } from '../../lib/server/overload-shedding.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient, upgradeStatus } from '../support/test-client.js';

/** Keeps this process's event loop busy for `ms`: the stall a GC or a herd of handshakes causes. */
function stallFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    /* busy */
  }
}

/**
 * Overload, as a herd makes it: every turn of this process's event loop (server and test share
 * it) takes `stallMs`, until the returned function stops it.
 */
function overloadEachTurn(stallMs: number): () => void {
  let on = true;
  const turn = (): void => {
    if (!on) return;
    stallFor(stallMs);
    setTimeout(turn, 0);
  };
  setTimeout(turn, 0);
  return () => (on = false);
}

/**
 * Sends a WebSocket upgrade request on a raw socket and, once the request has left, stalls the
 * loop for `stallMs` before anything reads it: the server handles the upgrade right after the
 * stall. Resolves with the status line and headers.
 */
function upgradeAfterStall(url: string, stallMs: number): Promise<{ status: number; headers: Record<string, string> }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(
        'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        () => stallFor(stallMs),
      );
    });
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      socket.destroy();
      resolve({ status: Number(statusLine!.split(' ')[1]), headers });
    });
    socket.on('error', reject);
  });
}

describe('maxEventLoopDelay: shedding new connections while the event loop lags (e2e)', () => {
  let t: TestApp | undefined;
  let client: RealtimeClient | undefined;
  afterEach(async () => {
    await client?.disconnect();
    client = undefined;
    await t?.close();
    t = undefined;
  });

  it('refuses an upgrade while the loop stays late, with 503 and Retry-After, counts it, and accepts once it keeps up', async () => {
    t = await createTestApp({ maxEventLoopDelay: 200 });
    const stats = t.app.get(RealtimeStats);
    const open = await TestClient.connect(t.url);
    expect((await open.next()).type).toBe('connected');

    const stop = overloadEachTurn(300);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // a few late turns in a row
    const refused = await upgradeAfterStall(t.url, 300);
    const pong = open.request({ type: 'ping', id: 'p' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop();
    expect(refused.status).toBe(503);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(5);
    expect(stats.rejectedUpgrades.overloaded).toBe(1);

    // The connection already open is served as usual.
    expect((await pong).type).toBe('pong');
    // The loop keeps up again: the next upgrade is accepted.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await upgradeStatus(t.url)).toBe(101);
    expect(stats.rejectedUpgrades.overloaded).toBe(1);
    await open.close();
  });

  it('does not take one long pause (a GC, a module loaded on first use) for overload', async () => {
    t = await createTestApp({ maxEventLoopDelay: 200 });
    const accepted = await upgradeAfterStall(t.url, 600);
    expect(accepted.status).toBe(101);
    expect(t.app.get(RealtimeStats).rejectedUpgrades.overloaded).toBe(0);
  });

  it('is off by default: the same overload refuses no one', async () => {
    t = await createTestApp({});
    const stop = overloadEachTurn(300);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const accepted = await upgradeAfterStall(t.url, 300);
    stop();
    expect(accepted.status).toBe(101);
    expect(t.app.get(RealtimeStats).rejectedUpgrades.overloaded).toBe(0);
  });

  it('a refused SDK client retries after its backoff and opens once the loop keeps up', async () => {
    t = await createTestApp({ maxEventLoopDelay: 200 });
    const reconnects: number[] = [];
    client = new RealtimeClient({
      url: t.url,
      WebSocket,
      heartbeat: false,
      reconnect: { baseDelay: 300, maxDelay: 300 },
    });
    client.onEvent('reconnecting', ({ attempt }) => reconnects.push(attempt));
    const stop = overloadEachTurn(300);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const connected = client.connect();
    setTimeout(stop, 1500);
    await connected;
    expect(reconnects.length).toBeGreaterThanOrEqual(1);
    expect(t.app.get(RealtimeStats).rejectedUpgrades.overloaded).toBeGreaterThanOrEqual(1);
    expect(client.state).toBe('open');
  });
});

describe('OverloadShedding', () => {
  it('sees a stall still going on, and a loop that stays late, but not one pause it recovered from', async () => {
    const shedding = new OverloadShedding(100);
    shedding.start();
    const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
    try {
      expect(shedding.overloaded).toBe(false);
      stallFor(300);
      // The tick is 200 ms overdue: the stall is seen before any timer ran.
      expect(shedding.overloaded).toBe(true);
      await turn();
      // The tick after it measured the stall, but the one before was on time: one pause.
      expect(shedding.overloaded).toBe(false);
      stallFor(300);
      await turn();
      // Two late ticks in a row: the loop stays late.
      expect(shedding.overloaded).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(shedding.overloaded).toBe(false);
    } finally {
      shedding.stop();
    }
  });

  it('spreads Retry-After over 1 to 5 seconds', () => {
    expect(new OverloadShedding(100, () => 0).retryAfter()).toBe(1);
    expect(new OverloadShedding(100, () => 0.999).retryAfter()).toBe(5);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it, jest } from '@jest/globals';
import { ConnectionManager } from '../../lib/connections/connection.manager.js';
import { RealtimeStats } from '../../lib/stats/realtime-stats.js';
import { heartbeatTick } from '../../lib/server/connection.sweeper.js';
import { useCleanup } from '../support/cleanup.js';
import { createTestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

const PING_INTERVAL = 200;
const PONG_TIMEOUT = 500;
const TICK = heartbeatTick({ pingInterval: PING_INTERVAL, pongTimeout: PONG_TIMEOUT });
const CLIENTS = 20;

/**
 * `CLIENTS` plain `ws` clients in a process of their own, so that they stay healthy (their own
 * event loop answers pings at once) while the server's loop is blocked. Prints `open` once all
 * are open and, on any close, `closed <code>`.
 */
const CLIENT_SCRIPT = `
import { WebSocket } from 'ws';
const sockets = Array.from({ length: ${CLIENTS} }, () => new WebSocket(process.argv[1]));
let open = 0;
for (const socket of sockets) {
  socket.on('open', () => { if (++open === sockets.length) console.log('open'); });
  socket.on('close', (code) => console.log('closed ' + code));
  socket.on('error', () => undefined);
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

function startClients(url: string): { child: ChildProcess; lines: string[] } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CLIENT_SCRIPT, url], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  return { child, lines };
}

function blockEventLoop(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy: nothing else on this thread runs, timers and socket reads included
  }
}

describe('heartbeat: the pong deadline counts from its ping (e2e)', () => {
  const cleanup = useCleanup();

  it('a starved event loop does not cut healthy connections', async () => {
    const t = cleanup.track(await createTestApp({ pingInterval: PING_INTERVAL, pongTimeout: PONG_TIMEOUT }));
    const manager = t.app.get(ConnectionManager);
    const { child, lines } = startClients(t.url);
    cleanup.defer(() => child.kill());
    await until(() => lines.includes('open'), 10_000);
    await until(() => manager.count === CLIENTS);
    // Block the server for 3 s (six pong timeouts) right after it pinged a connection: the pass
    // that follows runs 3 s late, before the poll phase reads the pongs that arrived meanwhile.
    const connections = [...manager.connections()];
    const first = connections[0];
    const ping = first.socket.ping.bind(first.socket);
    let blockedUntil = 0;
    jest.spyOn(first.socket, 'ping').mockImplementationOnce((...args) => {
      ping(...args);
      blockEventLoop(3000);
      blockedUntil = Date.now();
    });
    await until(() => blockedUntil > 0, 5000);
    // Several ping rounds after the stall: every connection answered one sent after it.
    await until(() => connections.every((connection) => connection.lastPongAt > blockedUntil), 5000);
    await new Promise((resolve) => setTimeout(resolve, 4 * (PING_INTERVAL + PONG_TIMEOUT)));
    expect(lines.filter((line) => line.startsWith('closed'))).toEqual([]);
    expect(manager.count).toBe(CLIENTS);
    expect(t.app.get(RealtimeStats).heartbeatTimeouts).toBe(0);
  });

  it('cuts a client that never answers within pingInterval + pongTimeout (+ the pass), and counts it', async () => {
    const t = cleanup.track(await createTestApp({ pingInterval: PING_INTERVAL, pongTimeout: PONG_TIMEOUT }));
    const stats = t.app.get(RealtimeStats);
    const healthy = cleanup.track(await TestClient.connect(t.url));
    const opened = Date.now();
    const silent = cleanup.track(await TestClient.connect(t.url, { autoPong: false }));
    const closed = await silent.closed;
    const elapsed = Date.now() - opened;
    expect(closed.code).toBe(1006); // terminated: no close frame
    // Pinged pingInterval after the open (the open counts as an answered ping), then the whole
    // pongTimeout; at most a tick late for the ping, a tick for the deadline to be seen, and the
    // pass after that (plus scheduling slack on a shared machine).
    expect(elapsed).toBeGreaterThanOrEqual(PING_INTERVAL + PONG_TIMEOUT - 5);
    expect(elapsed).toBeLessThanOrEqual(PING_INTERVAL + PONG_TIMEOUT + 3 * TICK + 1000);
    expect(stats.heartbeatTimeouts).toBe(1);
    await until(() => t.app.get(ConnectionManager).count === 1);
    expect(await healthy.request({ type: 'echo', id: 'alive', data: 1 })).toMatchObject({ type: 'echo_response' });
  });

  it('does not cut a peer reading a backlog slowly: the pong deadline runs from when the ping was written out', async () => {
    // An outbound buffer large enough for the backlog (the default 4 MiB closes a slower reader, 1013).
    const t = cleanup.track(
      await createTestApp({
        pingInterval: PING_INTERVAL,
        pongTimeout: PONG_TIMEOUT,
        writeBufferSize: 64 * 1024 * 1024,
      }),
    );
    const manager = t.app.get(ConnectionManager);
    const client = cleanup.track(await TestClient.connect(t.url));
    await until(() => manager.count === 1);
    const [connection] = [...manager.connections()];
    // The peer stops reading for four pong timeouts while the server queues 24 MB for it, past
    // what the kernel buffers on loopback: the next ping waits behind it in the server's queue.
    client.socket.pause(); // stops reading the socket (ws's own backpressure respects it)
    const chunk = 'x'.repeat(64 * 1024);
    const FRAMES = 384;
    for (let i = 0; i < FRAMES; i++) connection.send({ type: 'backlog', data: { i, chunk } });
    const pausedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 4 * PONG_TIMEOUT));
    expect(connection.socket.bufferedAmount).toBeGreaterThan(0); // the ping is still queued
    expect(connection.lastPingAt).toBeGreaterThan(connection.lastPongAt);
    client.socket.resume();
    await until(() => client.frames.filter((f) => f.type === 'backlog').length === FRAMES, 10_000);
    // It answers the ping once it has read what came before it, and is pinged again after that.
    await until(() => connection.lastPongAt > pausedAt, 5000);
    await new Promise((resolve) => setTimeout(resolve, 2 * (PING_INTERVAL + PONG_TIMEOUT)));
    expect(t.app.get(RealtimeStats).heartbeatTimeouts).toBe(0);
    expect(manager.count).toBe(1);
    expect(await client.request({ type: 'echo', id: 'alive', data: 1 })).toMatchObject({ type: 'echo_response' });
  });
});

import { Injectable } from '@nestjs/common';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ConnectionManager, OnMessage, RealtimeHealth } from '../../lib/index.js';
import { RealtimeStats } from '../../lib/stats/realtime-stats.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient, upgradeStatus } from '../support/test-client.js';
import { until } from '../support/until.js';

/** Handlers that finish only when the test releases them. */
@Injectable()
class HeldHandlers {
  readonly pending: (() => void)[] = [];

  /** Concurrent: many can be pending at once on one connection. */
  @OnMessage('hold', { reply: 'released', concurrent: true })
  hold(): Promise<string> {
    return new Promise((resolve) => this.pending.push(() => resolve('done')));
  }

  /** Ordered (the default): the connection's later messages wait behind it. */
  @OnMessage('hold.ordered', { reply: 'released' })
  holdOrdered(): Promise<string> {
    return new Promise((resolve) => this.pending.push(() => resolve('done')));
  }
}

/**
 * The positive marker for "what `client` sent was not read": once its frames have left it and
 * another connection's ping has been answered, the server has had its turn to read them.
 */
async function servedAfter(client: TestClient, url: string): Promise<void> {
  await until(() => client.socket.bufferedAmount === 0);
  const other = await TestClient.connect(url);
  try {
    await other.request({ type: 'ping', id: 'marker' });
  } finally {
    await other.close();
  }
}

describe('connection lifecycle, admission and shutdown (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('refuses a disallowed Origin with HTTP 403 and counts it', async () => {
    t = await createTestApp({ allowedOrigins: ['https://chat.example.com'] });
    expect(await upgradeStatus(t.url, { origin: 'https://evil.example.com' })).toBe(403);
    expect(await upgradeStatus(t.url, { origin: 'https://chat.example.com' })).toBe(101);
    expect(await upgradeStatus(t.url)).toBe(101); // non-browser client: no Origin
    expect(t.app.get(RealtimeStats).rejectedUpgrades.origin).toBe(1);
  });

  it('uses an origin predicate', async () => {
    t = await createTestApp({ allowedOrigins: (origin) => origin?.endsWith('.trusted.test') === true });
    expect(await upgradeStatus(t.url, { origin: 'https://a.trusted.test' })).toBe(101);
    expect(await upgradeStatus(t.url, { origin: 'https://a.untrusted.test' })).toBe(403);
  });

  it('refuses upgrades beyond maxConnections with HTTP 503 and accepts again after a close', async () => {
    t = await createTestApp({ maxConnections: 2 });
    const a = await TestClient.connect(t.url);
    const b = await TestClient.connect(t.url);
    expect(await upgradeStatus(t.url)).toBe(503);
    expect(t.app.get(RealtimeStats).rejectedUpgrades.capacity).toBe(1);
    await a.close();
    await until(() => t!.app.get(ConnectionManager).count === 1);
    const c = await TestClient.connect(t.url);
    expect((await c.next()).type).toBe('connected');
    await b.close();
    await c.close();
  });

  it('keeps a registry of live connections and removes closed ones', async () => {
    t = await createTestApp();
    const manager = t.app.get(ConnectionManager);
    const clients = await Promise.all([1, 2, 3].map(() => TestClient.connect(t!.url)));
    const ids = await Promise.all(clients.map(async (c) => (await c.next('connected')).data.client_id as string));
    expect(manager.count).toBe(3);
    expect([...manager.connections()].map((c) => c.id).sort()).toEqual([...ids].sort());
    const first = manager.get(ids[0])!;
    expect(first.sessionId).toEqual(expect.any(String));
    expect(first.remoteAddress).toMatch(/127\.0\.0\.1/);
    expect(first.createdAt).toBeLessThanOrEqual(Date.now());
    manager.setUser(first, 'user-1');
    manager.setUser(manager.get(ids[1])!, 'user-1');
    expect(
      manager
        .getByUser('user-1')
        .map((c) => c.id)
        .sort(),
    ).toEqual([ids[0], ids[1]].sort());
    expect(manager.userCount).toBe(1);
    clients[2].socket.terminate();
    await clients[0].close();
    await until(() => manager.count === 1);
    expect(manager.getByUser('user-1').map((c) => c.id)).toEqual([ids[1]]);
    await clients[1].close();
    await until(() => manager.count === 0);
    expect(manager.userCount).toBe(0);
    expect([...manager.userIds()]).toEqual([]);
  });

  it('terminates a client that never answers pings, and keeps one that does', async () => {
    t = await createTestApp({ pingInterval: 100, pongTimeout: 300 });
    const silent = await TestClient.connect(t.url, { autoPong: false });
    const healthy = await TestClient.connect(t.url);
    const started = Date.now();
    const closed = await silent.closed;
    const elapsed = Date.now() - started;
    expect(closed.code).toBe(1006); // terminated: no close frame
    expect(elapsed).toBeGreaterThanOrEqual(250);
    await until(() => t!.app.get(ConnectionManager).count === 1);
    expect(await healthy.request({ type: 'echo', id: 'alive', data: 1 })).toMatchObject({ type: 'echo_response' });
    await healthy.close();
  });

  it('pauses reading a connection whose unfinished handlers hold more than readBufferSize bytes', async () => {
    t = await createTestApp({ readBufferSize: 1000 }, { providers: [HeldHandlers] });
    const held = t.app.get(HeldHandlers);
    const client = await TestClient.connect(t.url);
    const id = (await client.next('connected')).data.client_id as string;
    const connection = t.app.get(ConnectionManager).get(id)!;
    const padding = 'x'.repeat(100);
    // One message at a time until the backlog passes 1000 bytes and reading pauses. (Sent all
    // at once, they could reach the server in one read, which ws parses whole.)
    let sent = 0;
    while (!connection.socket.isPaused) {
      expect(sent).toBeLessThan(20);
      client.send({ type: 'hold', id: `h${sent++}`, data: padding });
      await until(() => held.pending.length === sent);
    }
    expect(connection.pendingInboundBytes).toBeGreaterThan(1000);
    // What arrives while paused is not read.
    const readWhenPaused = held.pending.length;
    while (sent < 20) client.send({ type: 'hold', id: `h${sent++}`, data: padding });
    await servedAfter(client, t.url);
    expect(held.pending.length).toBe(readWhenPaused);
    expect(readWhenPaused).toBeLessThan(20);
    // Releasing the held handlers resumes reading, which lets the rest of the messages in.
    let released = 0;
    for (let spins = 0; released < 20 && spins < 100; spins++) {
      const batch = held.pending.splice(0);
      released += batch.length;
      batch.forEach((release) => release());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(released).toBe(20);
    await until(() => client.frames.filter((f) => f.type === 'released').length === 20);
    expect(connection.socket.isPaused).toBe(false);
    expect(connection.pendingInboundBytes).toBe(0);
    await client.close();
  });

  it('pauses reading a connection whose queue behind an unfinished ordered handler passes readBufferSize', async () => {
    t = await createTestApp({ readBufferSize: 1000 }, { providers: [HeldHandlers] });
    const held = t.app.get(HeldHandlers);
    const client = await TestClient.connect(t.url);
    const id = (await client.next('connected')).data.client_id as string;
    const connection = t.app.get(ConnectionManager).get(id)!;
    const padding = 'x'.repeat(100);
    client.send({ type: 'hold.ordered', id: 'first', data: padding });
    await until(() => held.pending.length === 1);
    // One message at a time until the queue passes 1000 bytes and reading pauses.
    let sent = 0;
    while (!connection.socket.isPaused) {
      expect(sent).toBeLessThan(20);
      client.send({ type: 'echo', id: `e${sent++}`, data: padding });
      await until(() => connection.inbox?.length === sent);
    }
    expect(connection.pendingInboundBytes).toBeGreaterThan(1000);
    const queuedWhenPaused = connection.inbox!.length;
    while (sent < 20) client.send({ type: 'echo', id: `e${sent++}`, data: padding });
    await servedAfter(client, t.url);
    // What arrives while paused is not read, and nothing queued was answered before `first`.
    expect(connection.inbox!.length).toBe(queuedWhenPaused);
    expect(client.frames.filter((f) => f.type === 'echo_response')).toHaveLength(0);
    held.pending.splice(0).forEach((release) => release());
    await until(() => client.frames.filter((f) => f.type === 'echo_response').length === 20);
    expect(client.frames.slice(1).map((f) => f.id)).toEqual([
      'first',
      ...Array.from({ length: 20 }, (_, i) => `e${i}`),
    ]);
    expect(connection.socket.isPaused).toBe(false);
    expect(connection.pendingInboundBytes).toBe(0);
    await client.close();
  });

  it('closes an idle connection after connectionTimeout', async () => {
    t = await createTestApp({ connectionTimeout: 150, cleanupInterval: 50 });
    const idle = await TestClient.connect(t.url);
    expect(await idle.closed).toEqual({ code: 1000, reason: 'idle timeout' });
  });

  it('drains with close 1012 on app.close()', async () => {
    t = await createTestApp({ shutdownTimeout: 2000 });
    const clients = await Promise.all([1, 2].map(() => TestClient.connect(t!.url)));
    const closing = t.close();
    t = undefined;
    const closes = await Promise.all(clients.map((c) => c.closed));
    expect(closes).toEqual([
      { code: 1012, reason: 'service restart' },
      { code: 1012, reason: 'service restart' },
    ]);
    await closing;
  });

  it('spreads the 1012s over drainSpread, serving the connections that wait their turn', async () => {
    t = await createTestApp({ drainSpread: 1000, shutdownTimeout: 2000 });
    const clients: TestClient[] = [];
    // One at a time: the drain goes through the connections in the order they opened.
    for (let i = 0; i < 10; i++) clients.push(await TestClient.connect(t.url));
    const closedAt: number[] = [];
    clients.forEach((client, i) => void client.closed.then(() => (closedAt[i] = Date.now())));
    const started = Date.now();
    const closing = t.close();
    t = undefined;
    // The last one's turn comes at ~900 ms: until then it is served as usual.
    await until(() => closedAt[0] !== undefined);
    const last = clients[9];
    expect(await last.request({ type: 'ping', id: 'still-served' })).toMatchObject({
      type: 'pong',
      id: 'still-served',
    });
    expect(closedAt[9]).toBeUndefined();
    const closes = await Promise.all(clients.map((c) => c.closed));
    expect(closes.every((c) => c.code === 1012 && c.reason === 'service restart')).toBe(true);
    await closing;
    // Spread, in the order they connected: the first at once, the last about 900 ms later (all at
    // once before drainSpread existed).
    expect(closedAt[0] - started).toBeLessThan(500);
    expect(closedAt[9] - closedAt[0]).toBeGreaterThanOrEqual(800);
    for (let i = 1; i < 10; i++) expect(closedAt[i]).toBeGreaterThanOrEqual(closedAt[i - 1]);
  });

  it('refuses upgrades with 503 while draining, and terminates connections that outlive shutdownTimeout', async () => {
    t = await createTestApp({ shutdownTimeout: 400 });
    const manager = t.app.get(ConnectionManager);
    const url = t.url;
    const stubborn = await TestClient.connect(url);
    // Stop reading: the client never answers the close frame, so only termination ends it.
    stubborn.socket.pause();
    const started = Date.now();
    const health = t.app.get(RealtimeHealth);
    expect(health.check().status).toBe('ok');
    const closing = t.close();
    t = undefined;
    await until(() => health.check().status === 'draining');
    expect(await upgradeStatus(url)).toBe(503);
    // Only termination after shutdownTimeout ends this close (the client never answers): without
    // it the close would hang and the test time out. It did wait that long for the client first.
    await closing;
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(manager.count).toBe(0);
    stubborn.socket.resume();
    expect([1006, 1012]).toContain((await stubborn.closed).code);
  });
});

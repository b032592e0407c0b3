import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { AppModule } from '../../sample/app.module.js';
import { loadSampleConfig } from '../../sample/sample.config.js';
import { useCleanup } from '../support/cleanup.js';
import { TestRedis } from '../support/redis-server.js';
import { TestClient, upgradeStatus } from '../support/test-client.js';
import { hsToken } from '../support/tokens.js';
import { until } from '../support/until.js';

const SECRET = 'terminus-e2e-secret-0123456789abcdef';

interface Probe {
  status: number;
  body: {
    status: string;
    info?: Record<string, Record<string, unknown>>;
    error?: Record<string, Record<string, unknown>>;
  };
}

/** The sample app (Terminus routes included) on a free loopback port. */
async function startSample(env: Record<string, string>): Promise<{ app: INestApplication; http: string; ws: string }> {
  const config = loadSampleConfig({ JWT_SECRET: SECRET, NODE_ID: 'ready-1', LOG_LEVEL: 'error', ...env });
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address();
  return { app, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/ws` };
}

async function probe(url: string): Promise<Probe> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Probe['body'] };
}

async function authenticated(ws: string, user: string): Promise<TestClient> {
  const client = await TestClient.connect(`${ws}?token=${hsToken({ user_id: user, username: user }, SECRET)}`);
  await client.next('auth_success');
  return client;
}

/** Busy-waits in slices of `sliceMs`, yielding between them, for `totalMs`: a saturated loop. */
async function saturateEventLoop(totalMs: number, sliceMs: number): Promise<void> {
  const end = Date.now() + totalMs;
  while (Date.now() < end) {
    const sliceEnd = Date.now() + sliceMs;
    while (Date.now() < sliceEnd);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('Terminus readiness and liveness on the sample (e2e)', () => {
  const cleanup = useCleanup();

  it('is ready and live while serving, with what each indicator read', async () => {
    const { app, http, ws } = await startSample({});
    cleanup.track(app);
    const client = cleanup.track(await authenticated(ws, 'ann'));
    const ready = await probe(`${http}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
    expect(ready.body.info).toEqual({
      realtime: { status: 'up', node_id: 'ready-1' },
      connections: { status: 'up', connections: 1, max_connections: 10_000, threshold_percent: 1 },
      redis: { status: 'up', redis: 'off' },
      event_loop: { status: 'up', p99_ms: expect.any(Number), max_ms: expect.any(Number), max_delay_ms: 1000 },
    });
    expect(await probe(`${http}/health/live`)).toEqual({
      status: 200,
      body: { status: 'ok', info: {}, error: {}, details: {} },
    });
    // PROTOCOL.md's /health keeps its contract.
    expect(await probe(`${http}/health`)).toEqual({
      status: 200,
      body: { status: 'ok', node_id: 'ready-1', redis: 'off' },
    });
    await client.close();
  });

  it('turns 503 as the drain starts, DRAIN_DELAY_MS before any client receives 1012; live stays 200', async () => {
    const drainDelay = 1500; // room for the checks below on a loaded machine
    const { app, http, ws } = await startSample({ DRAIN_DELAY_MS: String(drainDelay) });
    const clients = await Promise.all(['a', 'b', 'c'].map((user) => authenticated(ws, user)));
    for (const client of clients) cleanup.track(client);
    const closedAt: { code: number; at: number }[] = [];
    for (const client of clients) {
      client.socket.once('close', (code) => closedAt.push({ code, at: performance.now() }));
    }
    expect((await probe(`${http}/health/ready`)).status).toBe(200);

    const shutdownStart = performance.now();
    const closing = app.close();
    let notReadyAt = 0;
    await until(async () => {
      const answer = await probe(`${http}/health/ready`);
      if (answer.status !== 503) return false;
      notReadyAt = performance.now();
      expect(answer.body.status).toBe('error');
      expect(answer.body.error).toEqual({
        realtime: { status: 'down', node_id: 'ready-1', message: 'not accepting connections: draining' },
      });
      return true;
    }, 2000);
    // While not ready: no client was sent away yet, the old /health says draining, liveness is
    // fine, a new upgrade is refused, and the open connections are served as usual.
    expect(closedAt).toEqual([]);
    expect(await probe(`${http}/health`)).toEqual({
      status: 503,
      body: { status: 'draining', node_id: 'ready-1', redis: 'off' },
    });
    expect((await probe(`${http}/health/live`)).status).toBe(200);
    expect(await upgradeStatus(ws)).toBe(503);
    expect(await clients[0].request({ type: 'echo', id: 'still', data: 'served' })).toMatchObject({
      type: 'echo_response',
      data: 'served',
    });
    expect(closedAt).toEqual([]);

    await closing;
    expect(closedAt.map(({ code }) => code)).toEqual([1012, 1012, 1012]);
    const firstClose = Math.min(...closedAt.map(({ at }) => at));
    expect(notReadyAt).toBeGreaterThan(shutdownStart);
    expect(firstClose).toBeGreaterThan(notReadyAt);
    // The 1012s wait for the delay (timers may fire a millisecond early).
    expect(firstClose - shutdownStart).toBeGreaterThanOrEqual(drainDelay - 5);
  });

  it('is 503 while the node is full, and ready again when a connection leaves', async () => {
    const { app, http, ws } = await startSample({ MAX_CONNECTIONS: '2' });
    cleanup.track(app);
    const first = cleanup.track(await authenticated(ws, 'ann'));
    expect((await probe(`${http}/health/ready`)).status).toBe(200);
    cleanup.track(await authenticated(ws, 'bob'));
    const full = await probe(`${http}/health/ready`);
    expect(full.status).toBe(503);
    expect(full.body.error).toEqual({
      connections: {
        status: 'down',
        connections: 2,
        max_connections: 2,
        threshold_percent: 1,
        message: 'at connection capacity',
      },
    });
    expect(await upgradeStatus(ws)).toBe(503);
    expect((await probe(`${http}/health/live`)).status).toBe(200);
    await first.close();
    await until(async () => (await probe(`${http}/health/ready`)).status === 200);
  });

  it('is 503 while Redis is down (the old /health stays 200 degraded), and ready when it is back', async () => {
    const redis = cleanup.track(await TestRedis.start());
    const { app, http } = await startSample({ REDIS_URL: redis.url });
    cleanup.track(app);
    const up = await probe(`${http}/health/ready`);
    expect(up.status).toBe(200);
    expect(up.body.info?.redis).toEqual({ status: 'up', redis: 'up' });

    await redis.stop();
    await until(async () => (await probe(`${http}/health/ready`)).status === 503, 10_000);
    const down = await probe(`${http}/health/ready`);
    expect(down.body.error).toEqual({
      redis: { status: 'down', redis: 'down', message: 'Redis unreachable: broadcasts reach this node only' },
    });
    expect(down.body.info).toMatchObject({ realtime: { status: 'up' }, connections: { status: 'up' } });
    expect(await probe(`${http}/health`)).toEqual({
      status: 200,
      body: { status: 'degraded', node_id: 'ready-1', redis: 'down' },
    });
    expect((await probe(`${http}/health/live`)).status).toBe(200);

    await redis.spawn();
    await until(async () => (await probe(`${http}/health/ready`)).status === 200, 10_000);
  }, 30_000);

  it('is 503 while the event loop lags beyond EVENT_LOOP_MAX_DELAY_MS, and ready once it keeps up', async () => {
    const { app, http } = await startSample({ EVENT_LOOP_MAX_DELAY_MS: '100' });
    cleanup.track(app);
    // (Polled: on a loaded machine one window may hold a stall of its own.)
    await until(async () => (await probe(`${http}/health/ready`)).status === 200);
    // The app shares this process: saturate its loop (150 ms busy between yields) for a second.
    await saturateEventLoop(1000, 150);
    const lagging = await probe(`${http}/health/ready`);
    expect(lagging.status).toBe(503);
    expect(lagging.body.error?.event_loop).toMatchObject({ status: 'down', max_delay_ms: 100 });
    expect(lagging.body.error?.event_loop.p99_ms).toBeGreaterThan(100);
    expect((await probe(`${http}/health/live`)).status).toBe(200);
    // Each check covers only the time since the previous one: ready again once the loop keeps up.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await until(async () => (await probe(`${http}/health/ready`)).status === 200);
  });
});

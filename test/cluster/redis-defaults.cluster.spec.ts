import type { LoggerService } from '@nestjs/common';
import { afterEach, describe, expect, it } from '@jest/globals';
import { RealtimeHealth, RoomManager } from '../../lib/index.js';
import { RedisClusterAdapter } from '../../lib/redis/index.js';
import { freePort, TestRedis } from '../support/redis-server.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

/** Keeps what the app logs, by level, so a test can check what an operator would read. */
class CapturedLog implements LoggerService {
  readonly lines: { level: string; message: string }[] = [];
  log(message: unknown): void {
    this.lines.push({ level: 'log', message: String(message) });
  }
  warn(message: unknown): void {
    this.lines.push({ level: 'warn', message: String(message) });
  }
  error(message: unknown): void {
    this.lines.push({ level: 'error', message: String(message) });
  }
  debug(): void {}
  verbose(): void {}
  has(level: string, text: string): boolean {
    return this.lines.some((line) => line.level === level && line.message.includes(text));
  }
}

const TIMINGS = { heartbeatInterval: 200, nodeTimeout: 1000 };

describe('RedisClusterAdapter defaults', () => {
  const apps: TestApp[] = [];
  let redis: TestRedis | undefined;

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await redis?.stop();
    redis = undefined;
  });

  it('refuses to start without an address instead of falling back to 127.0.0.1:6379', () => {
    for (const options of [{}, { prefix: 'p' }, { redis: {} }, { redis: { db: 2 } }, { cluster: { nodes: [] } }]) {
      expect(() => new RedisClusterAdapter(options)).toThrow(
        'RedisClusterAdapter: no Redis address. Pass { url: "redis://host:6379" }',
      );
    }
    expect(() => new RedisClusterAdapter({ url: '' })).toThrow('no Redis address');
    expect(() => new RedisClusterAdapter({ redis: { port: 6390 } })).not.toThrow();
    expect(() => new RedisClusterAdapter({ redis: { host: 'redis.internal' } })).not.toThrow();
    expect(() => new RedisClusterAdapter({ cluster: { nodes: [{ host: '127.0.0.1', port: 7000 }] } })).not.toThrow();
  });

  it('refuses a handOverGrace that is not a whole number of ms >= 0', () => {
    for (const handOverGrace of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new RedisClusterAdapter({ url: 'redis://127.0.0.1:6390', handOverGrace })).toThrow(
        'handOverGrace must be an integer >= 0',
      );
    }
    expect(() => new RedisClusterAdapter({ url: 'redis://127.0.0.1:6390', handOverGrace: 0 })).not.toThrow();
  });

  it('with Redis unreachable, logs where it connects and warns at once, starts degraded, and recovers', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const log = new CapturedLog();
    const started = Date.now();
    const a = await createTestApp(
      {
        nodeId: 'da',
        rateLimit: false,
        cluster: new RedisClusterAdapter({ url, prefix: `d${process.pid}`, ...TIMINGS }),
      },
      {},
      (app) => app.useLogger(log),
    );
    apps.push(a);
    // At once: not after ioredis' retries of queued commands (about 10 s).
    expect(Date.now() - started).toBeLessThan(3000);
    expect(log.has('log', `connecting to Redis at ${url}`)).toBe(true);
    expect(log.has('warn', `Redis at ${url} is unreachable`)).toBe(true);
    expect(log.has('warn', 'starting degraded')).toBe(true);
    expect(a.app.get(RealtimeHealth).check()).toEqual({ status: 'degraded', node_id: 'da', redis: 'down' });

    // Degraded means this node only: its own rooms still work.
    const one = await TestClient.connect(a.url);
    const two = await TestClient.connect(a.url);
    for (const c of [one, two]) await c.request({ type: 'join_room', id: 'j', data: { room_id: 'local' } });
    one.send({ type: 'chat', data: { room_id: 'local', content: 'while degraded' } });
    expect((await two.next('chat_message')).data.content).toBe('while degraded');

    redis = await TestRedis.start(port);
    await until(() => a.app.get(RealtimeHealth).check().status === 'ok', 10_000);
    await until(() => log.has('log', `Redis at ${url} is back`));
    // The node-wide channels were subscribed once Redis came: another node's announcement arrives.
    const b = await createTestApp({
      nodeId: 'db',
      rateLimit: false,
      cluster: new RedisClusterAdapter({ url, prefix: `d${process.pid}`, ...TIMINGS }),
    });
    apps.push(b);
    await until(async () => {
      b.app.get(RoomManager).sendToAll('notice', { text: 'from b' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      return one.frames.some((f) => f.type === 'notice');
    }, 10_000);
    for (const c of [one, two]) await c.close();
  });

  it('warns once when Redis goes away after start-up, and says when it is back', async () => {
    redis = await TestRedis.start();
    const log = new CapturedLog();
    const a = await createTestApp(
      { nodeId: 'dl', cluster: new RedisClusterAdapter({ url: redis.url, prefix: `l${process.pid}`, ...TIMINGS }) },
      {},
      (app) => app.useLogger(log),
    );
    apps.push(a);
    expect(log.has('log', `connected to Redis at ${redis.url}`)).toBe(true);
    await redis.stop();
    await until(() => a.app.get(RealtimeHealth).check().status === 'degraded');
    await until(() => log.has('warn', `lost the connection to Redis at ${redis!.url}`));
    await new Promise((resolve) => setTimeout(resolve, 500)); // a few reconnect attempts
    expect(log.lines.filter((line) => line.level === 'warn' && line.message.includes('lost the')).length).toBe(1);
    await redis.spawn();
    await until(() => log.has('log', `Redis at ${redis!.url} is back`), 10_000);
  });

  it('with failFast, fails start-up when Redis is unreachable', async () => {
    const port = await freePort();
    const started = Date.now();
    const attempt = createTestApp({
      cluster: new RedisClusterAdapter({ url: `redis://127.0.0.1:${port}`, failFast: true }),
    });
    await expect(attempt).rejects.toThrow(
      `RedisClusterAdapter: Redis at redis://127.0.0.1:${port} is unreachable (connect ECONNREFUSED 127.0.0.1:${port}) and failFast is set: not starting`,
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('with failFast, starts normally when Redis is there', async () => {
    redis = await TestRedis.start();
    const a = await createTestApp({
      nodeId: 'ff',
      cluster: new RedisClusterAdapter({ url: redis.url, prefix: `ff${process.pid}`, failFast: true }),
    });
    apps.push(a);
    expect(a.app.get(RealtimeHealth).check()).toEqual({ status: 'ok', node_id: 'ff', redis: 'up' });
  });

  it('never shows a password in the log', async () => {
    const port = await freePort();
    const log = new CapturedLog();
    const a = await createTestApp(
      { cluster: new RedisClusterAdapter({ url: `redis://user:s3cret@127.0.0.1:${port}` }) },
      {},
      (app) => app.useLogger(log),
    );
    apps.push(a);
    expect(log.has('log', `connecting to Redis at redis://user:***@127.0.0.1:${port}`)).toBe(true);
    expect(log.lines.some((line) => line.message.includes('s3cret'))).toBe(false);
  });
});

import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ClusterAdapter, RealtimeHealth } from '../../lib/index.js';
import { RedisClusterAdapter } from '../../lib/redis/index.js';
import { createTestApp } from '../support/test-app.js';
import { freePort, TestRedis } from '../support/redis-server.js';
import { until } from '../support/until.js';
import { useCleanup } from '../support/cleanup.js';

/** The timers keeping the process alive (ref'd), by Node's own count. */
const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

/**
 * `app.close()` leaves nothing running, even when Redis is down at that moment: a process that
 * closes its app must be able to exit at once (Jest workers are force-exited otherwise, after a
 * "worker process has failed to exit gracefully").
 */
describe('RedisClusterAdapter: closing leaves nothing running', () => {
  const cleanup = useCleanup();

  it('while Redis is down and ioredis waits to reconnect', async () => {
    const redis = cleanup.track(await TestRedis.start());
    const before = timers();
    const t = cleanup.track(
      await createTestApp({ cluster: new RedisClusterAdapter({ url: redis.url, prefix: `c${process.pid}` }) }),
    );
    await redis.stop();
    await until(() => t.app.get(RealtimeHealth).check().status === 'degraded');
    // ioredis between two attempts to reconnect: its socket is the dead one of the last attempt.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await t.close();
    // ioredis' leftover timer (the one this pins) would run 2 s.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('with commands in flight when Redis went away', async () => {
    const redis = cleanup.track(await TestRedis.start());
    const admin = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
    admin.on('error', () => undefined);
    cleanup.defer(() => admin.disconnect());
    // Connected first: its connect timer is not counted.
    await admin.ping();
    const before = timers();
    const t = cleanup.track(
      await createTestApp({ cluster: new RedisClusterAdapter({ url: redis.url, prefix: `c${process.pid}` }) }),
    );
    // Redis holds the next command unanswered, then dies: ioredis keeps it to send it again on a
    // reconnect that, once the app closes, never comes; its 5 s command timeout would run on.
    await admin.client('PAUSE', 10_000, 'ALL');
    t.app.get(ClusterAdapter).saveSession('s1', 'ann', 60_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Gone before Redis (an ioredis client left on a killed server delays the Jest worker's exit).
    admin.disconnect();
    await redis.stop();
    await until(() => t.app.get(RealtimeHealth).check().status === 'degraded');
    await t.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('with failFast, after a refused start-up', async () => {
    const port = await freePort();
    const before = timers();
    await expect(
      createTestApp({ cluster: new RedisClusterAdapter({ url: `redis://127.0.0.1:${port}`, failFast: true }) }),
    ).rejects.toThrow('failFast is set');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(timers()).toBeLessThanOrEqual(before);
  });
});

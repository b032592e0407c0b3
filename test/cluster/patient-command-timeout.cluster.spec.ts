import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { coalesceCommands } from '../../lib/cluster/redis/command-coalescing.js';
import { patientCommandTimeouts } from '../../lib/cluster/redis/patient-command-timeout.js';
import { TestRedis } from '../support/redis-server.js';

/** Blocks the event loop, as a GC pause or a burst of work does. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}

/** ioredis's `commandTimeout` judged after the replies that arrived during a stall are read. */
describe('patient Redis command timeouts', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await TestRedis.start();
  });
  afterAll(() => redis.stop());

  async function client(patient: boolean): Promise<Redis> {
    const c = new Redis(redis.port, '127.0.0.1', { commandTimeout: 100, maxRetriesPerRequest: 0 });
    coalesceCommands(c); // as the adapter installs both
    if (patient) patientCommandTimeouts(c);
    await c.ping();
    return c;
  }

  /** A command answered at once, while this process is stalled past the timeout. */
  async function answeredDuringAStall(c: Redis): Promise<string | Error> {
    const reply = c.set('patient', 'yes').catch((error: Error) => error);
    // Written at the end of this turn (the coalescing); Redis answers it while we are stalled.
    await new Promise((resolve) => setImmediate(resolve));
    stall(400);
    return reply as Promise<string | Error>;
  }

  it('does not fail a command that Redis answered while the event loop was stalled', async () => {
    const c = await client(true);
    try {
      expect(await answeredDuringAStall(c)).toBe('OK');
    } finally {
      c.disconnect();
    }
  });

  it('without it, ioredis fails that command (what this prevents)', async () => {
    const c = await client(false);
    try {
      const result = await answeredDuringAStall(c);
      expect(result).toBeInstanceOf(Error);
      expect((result as Error).message).toBe('Command timed out');
    } finally {
      c.disconnect();
    }
  });

  it('still fails a command Redis does not answer in time, within the timeout plus a short hop', async () => {
    const c = await client(true);
    const admin = new Redis(redis.port, '127.0.0.1');
    try {
      await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
      const started = Date.now();
      const error = (await c.get('patient').catch((e: Error) => e)) as Error;
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toBe('Command timed out');
      expect(elapsed).toBeGreaterThanOrEqual(95);
      expect(elapsed).toBeLessThan(900); // well before the pause ends and Redis answers
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
      c.disconnect();
    }
  });
});

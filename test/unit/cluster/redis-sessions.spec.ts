import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ClusterChannels } from '../../../lib/cluster/cluster-channels.js';
import { RedisSessions } from '../../../lib/cluster/redis/redis-sessions.js';

/** The command connection as RedisSessions sees it: a status, SET and GET; each call is scripted. */
class FakeRedis {
  status = 'ready';
  readonly keys = new Map<string, { value: string; px: number }>();
  /** How many of the next SETs (GETs) fail. */
  failSets = 0;
  failGets = 0;
  sets = 0;
  gets = 0;

  async set(key: string, value: string, _px: 'PX', ttl: number): Promise<'OK'> {
    this.sets++;
    if (this.failSets > 0 && this.failSets--) throw new Error('Connection is closed.');
    this.keys.set(key, { value, px: ttl });
    return 'OK';
  }

  async get(key: string): Promise<string | null> {
    this.gets++;
    if (this.failGets > 0 && this.failGets--) throw new Error('Command timed out');
    return this.keys.get(key)?.value ?? null;
  }
}

/** Timers and Date.now are faked: a backoff of seconds passes at once. */
describe('RedisSessions', () => {
  const channels = new ClusterChannels('t');
  const key = channels.session('s1');
  let redis: FakeRedis;
  let stopped: boolean;
  let sessions: RedisSessions;
  let warn: jest.SpiedFunction<Logger['warn']>;

  beforeEach(() => {
    jest.useFakeTimers();
    redis = new FakeRedis();
    stopped = false;
    const logger = new Logger('test');
    warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    sessions = new RedisSessions(
      channels,
      logger,
      () => redis as unknown as Redis,
      () => stopped,
    );
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('writes a record again, with a growing backoff, until it lands', async () => {
    // A few failures more than quick tries allow (a shard connection opening, a loaded Redis).
    redis.failSets = 8;
    sessions.save('s1', 'ann', 120_000);
    await jest.advanceTimersByTimeAsync(1000);
    // 50 + 100 + 200 + 400 ms of backoff within the first second: not one attempt per tick.
    expect(redis.sets).toBe(5);
    expect(redis.keys.has(key)).toBe(false);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(redis.keys.get(key)?.value).toBe('ann');
    expect(sessions.pendingCount).toBe(0);
    expect(redis.sets).toBe(9);
    // The remaining ttl: the record expires when the session would have.
    expect(redis.keys.get(key)!.px).toBeLessThan(120_000 - 5000);
    expect(warn).not.toHaveBeenCalled();
  });

  it('keeps a record while Redis is away and writes it on the next ready, with what is left of its ttl', async () => {
    redis.status = 'reconnecting';
    sessions.save('s1', 'ann', 60_000);
    await jest.advanceTimersByTimeAsync(20_000);
    expect(redis.sets).toBe(0);
    expect(sessions.pendingCount).toBe(1);
    redis.status = 'ready';
    sessions.rewrite();
    await jest.advanceTimersByTimeAsync(0);
    expect(redis.keys.get(key)).toEqual({ value: 'ann', px: 40_000 });
    expect(sessions.pendingCount).toBe(0);
  });

  it('forgets a record whose ttl ran out unwritten: nothing waits longer than its session', async () => {
    redis.status = 'reconnecting';
    sessions.save('s1', 'ann', 1000);
    sessions.save('s2', 'bob', 5000);
    sessions.dropExpired(Date.now() + 1000);
    expect(sessions.pendingCount).toBe(1);
    await jest.advanceTimersByTimeAsync(5000);
    redis.status = 'ready';
    sessions.rewrite();
    await jest.advanceTimersByTimeAsync(0);
    expect(redis.sets).toBe(0);
    expect(sessions.pendingCount).toBe(0);
  });

  it('gives a record up when its ttl runs out while Redis keeps failing, and says so', async () => {
    redis.failSets = Number.POSITIVE_INFINITY;
    sessions.save('s1', 'ann', 3000);
    await jest.advanceTimersByTimeAsync(3000);
    expect(sessions.pendingCount).toBe(0);
    const attempts = redis.sets;
    await jest.advanceTimersByTimeAsync(10_000);
    expect(redis.sets).toBe(attempts);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('could not record session s1 in Redis'));
  });

  it('writes only the latest save of a session (a newer one replaces a record still on its way)', async () => {
    redis.failSets = 1;
    sessions.save('s1', 'ann', 60_000);
    sessions.save('s1', 'ann', 90_000);
    await jest.advanceTimersByTimeAsync(1000);
    // The first save's attempt failed; its loop ended, the second one landed.
    expect(redis.sets).toBe(2);
    expect(redis.keys.get(key)?.px).toBe(90_000);
  });

  it('stops writing once the adapter stopped', async () => {
    redis.failSets = 1;
    sessions.save('s1', 'ann', 60_000);
    stopped = true;
    await jest.advanceTimersByTimeAsync(5000);
    expect(redis.sets).toBe(1);
  });

  describe('owner', () => {
    it('is the user Redis has, or undefined when Redis has nobody', async () => {
      redis.keys.set(key, { value: 'ann', px: 1 });
      await expect(sessions.owner('s1')).resolves.toBe('ann');
      await expect(sessions.owner('s2')).resolves.toBeUndefined();
    });

    it('is undefined while Redis is not connected (the node works alone)', async () => {
      redis.keys.set(key, { value: 'ann', px: 1 });
      redis.status = 'reconnecting';
      await expect(sessions.owner('s1')).resolves.toBeUndefined();
      expect(redis.gets).toBe(0);
    });

    it('asks again after a failed lookup, and rejects when Redis is connected but cannot answer', async () => {
      redis.keys.set(key, { value: 'ann', px: 1 });
      redis.failGets = 1;
      const retried = sessions.owner('s1');
      await jest.advanceTimersByTimeAsync(1000);
      await expect(retried).resolves.toBe('ann');

      redis.failGets = Number.POSITIVE_INFINITY;
      const failed = sessions.owner('s1');
      const settled = failed.catch((error: Error) => error);
      await jest.advanceTimersByTimeAsync(1000);
      expect(await settled).toEqual(new Error('Command timed out'));
      expect(redis.gets).toBe(2 + 3);
    });

    it('does not ask again after a lookup that took its whole timeout (the resume waits meanwhile)', async () => {
      redis.failGets = Number.POSITIVE_INFINITY;
      const slowGet = redis.get.bind(redis);
      redis.get = async (k: string) => {
        await new Promise((resolve) => setTimeout(resolve, 5000));
        return slowGet(k);
      };
      const settled = sessions.owner('s1').catch((error: Error) => error);
      await jest.advanceTimersByTimeAsync(20_000);
      expect(await settled).toEqual(new Error('Command timed out'));
      expect(redis.gets).toBe(1);
    });
  });
});

import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { KeepSchedule } from '../../../lib/cluster/redis/keep-schedule.js';

/** The clock is moved by hand: a renewal period passes without waiting for it. */
describe('KeepSchedule', () => {
  let now = 0;
  beforeEach(() => {
    now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('renews every ten nodeTimeouts, five minutes at least, and a keep lasts three periods', () => {
    expect(new KeepSchedule(1000, 200)).toMatchObject({ renewal: 300_000, ttl: 900_000 });
    expect(new KeepSchedule(60_000, 2000)).toMatchObject({ renewal: 600_000, ttl: 1_800_000 });
  });

  it('gives the keys due oldest first, within twice the steady rate per heartbeat', () => {
    // 300 s periods at 2 s beats: 150 beats a period, so 100 keys allow ceil(100 × 2 / 150) = 2 a beat.
    const schedule = new KeepSchedule<string>(10_000, 2000);
    const start = now;
    for (let i = 0; i < 100; i++) {
      schedule.keptNow(`k${i}`);
      now += 10;
    }
    // k0 was kept just under a period ago: nothing is due.
    now = start + 300_000 - 1;
    expect(schedule.due()).toEqual([]);
    // All due now: the oldest, two of them.
    now = start + 301_000;
    expect(schedule.due()).toEqual(['k0', 'k1']);
    // A key kept again (renewed, or rewritten) goes to the end: a period from now.
    schedule.keptNow('k0');
    schedule.keptNow('k1');
    expect(schedule.due()).toEqual(['k2', 'k3']);
    // Skipped keys (being written anyway) are left out without taking the budget; forgotten
    // ones are not due at all.
    expect(schedule.due(new Set(['k2']))).toEqual(['k3', 'k4']);
    schedule.forget('k3');
    expect(schedule.due()).toEqual(['k2', 'k4']);
    schedule.clear();
    now += 1_000_000;
    expect(schedule.due()).toEqual([]);
  });
});

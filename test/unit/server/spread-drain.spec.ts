import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { sendAwaySpread } from '../../../lib/server/spread-drain.js';

describe('sendAwaySpread', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('sends everyone away at once when the spread is 0 or shorter than a batch interval', async () => {
    for (const spread of [0, 99]) {
      const sent: number[] = [];
      const done = sendAwaySpread([1, 2, 3, 4, 5], spread, (n) => sent.push(n));
      // All in the synchronous part: nothing waits for a timer.
      expect(sent).toEqual([1, 2, 3, 4, 5]);
      await done;
    }
  });

  it('spreads 25 connections over 1000 ms in 10 batches every 100 ms, each connection once, in order', async () => {
    const connections = Array.from({ length: 25 }, (_, i) => i);
    const sentAt = new Map<number, number>();
    const done = sendAwaySpread(connections, 1000, (n) => {
      expect(sentAt.has(n)).toBe(false);
      sentAt.set(n, Date.now());
    });
    const counts: number[] = [];
    for (let batch = 0; batch < 10; batch++) {
      if (batch > 0) await jest.advanceTimersByTimeAsync(100);
      counts.push(sentAt.size - counts.reduce((a, b) => a + b, 0));
    }
    await done;
    // 2 or 3 a batch (25 over 10), never bunched up, and none left for the end.
    expect(counts).toEqual([2, 3, 2, 3, 2, 3, 2, 3, 2, 3]);
    expect([...sentAt.keys()]).toEqual(connections);
    expect(sentAt.get(0)).toBe(0);
    expect(sentAt.get(24)).toBe(900);
  });

  it('catches up after a late timer instead of stretching the drain', async () => {
    const sent: number[] = [];
    const done = sendAwaySpread(
      Array.from({ length: 10 }, (_, i) => i),
      1000,
      (n) => sent.push(n),
    );
    expect(sent).toHaveLength(1);
    // The node was busy for 550 ms (the clock moves, the pending timer with it): when that timer
    // fires, at 650 ms, the batches due at 100 … 600 ms all go out, not one.
    jest.setSystemTime(550);
    await jest.advanceTimersByTimeAsync(100);
    expect(Date.now()).toBe(650);
    expect(sent).toHaveLength(7);
    await jest.advanceTimersByTimeAsync(400);
    expect(sent).toHaveLength(10);
    await done;
  });

  it('ends the schedule early once nobody is left (all closed meanwhile)', async () => {
    const sent: number[] = [];
    let left = 10;
    let finished = false;
    const done = sendAwaySpread(
      Array.from({ length: 10 }, (_, i) => i),
      1000,
      (n) => sent.push(n),
      () => left === 0,
    ).then(() => (finished = true));
    await jest.advanceTimersByTimeAsync(100);
    expect(sent).toEqual([0, 1]);
    left = 0; // the clients all left on their own
    await jest.advanceTimersByTimeAsync(100);
    expect(finished).toBe(true);
    expect(sent).toEqual([0, 1]);
    await done;
  });
});

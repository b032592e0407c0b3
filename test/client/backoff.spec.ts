import { describe, expect, it } from '@jest/globals';
import { Backoff } from '../../lib/client/backoff.js';

describe('Backoff (full jitter)', () => {
  it('keeps the n-th delay within [0, min(cap, base * 2^n)] for any random value', () => {
    for (const value of [0, 0.25, 0.5, 0.999999]) {
      const backoff = new Backoff({ baseDelay: 50, maxDelay: 400 }, () => value);
      for (let n = 0; n < 12; n++) {
        const ceiling = Math.min(400, 50 * 2 ** n);
        const delay = backoff.next();
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(ceiling);
        expect(delay).toBe(Math.floor(value * ceiling));
      }
    }
  });

  it('doubles the ceiling up to the cap, and starts over after reset()', () => {
    const backoff = new Backoff({ baseDelay: 50, maxDelay: 400 }, () => 0.999999);
    expect([1, 2, 3, 4, 5].map(() => backoff.next())).toEqual([49, 99, 199, 399, 399]);
    backoff.reset();
    expect(backoff.next()).toBe(49);
  });

  it('counts attempts against maxAttempts (default: forever)', () => {
    const limited = new Backoff({ maxAttempts: 2 });
    limited.next();
    expect(limited.canRetry).toBe(true);
    limited.next();
    expect(limited.canRetry).toBe(false);
    const forever = new Backoff();
    for (let i = 0; i < 1000; i++) forever.next();
    expect(forever.canRetry).toBe(true);
    expect(forever.ceiling(2000)).toBe(30_000); // 2^2000 overflows; the cap still holds
  });

  it('rejects contradictory settings', () => {
    expect(() => new Backoff({ baseDelay: 500, maxDelay: 100 })).toThrow(/baseDelay <= maxDelay/);
    expect(() => new Backoff({ maxAttempts: -1 })).toThrow(/maxAttempts/);
  });
});

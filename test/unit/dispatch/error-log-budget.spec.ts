import { describe, expect, it } from '@jest/globals';
import type { RealtimeConnection } from '../../../lib/connections/realtime-connection.js';
import { ErrorLogBudget } from '../../../lib/dispatch/error-log-budget.js';

const connection = (id: string) => ({ id }) as unknown as RealtimeConnection;

describe('ErrorLogBudget', () => {
  it('lets five lines through at once, then one per ten seconds, reporting how many were held back', () => {
    const budget = new ErrorLogBudget();
    const noisy = connection('noisy');
    expect(Array.from({ length: 5 }, () => budget.take(noisy, 0))).toEqual([0, 0, 0, 0, 0]);
    expect(budget.take(noisy, 1)).toBeUndefined();
    expect(budget.take(noisy, 9_999)).toBeUndefined();
    expect(budget.take(noisy, 10_000)).toBe(2); // the two held back since the last line
    expect(budget.take(noisy, 10_001)).toBeUndefined();
    // A long quiet spell refills up to the burst, no further.
    expect(Array.from({ length: 6 }, () => budget.take(noisy, 1_000_000))).toEqual([1, 0, 0, 0, 0, undefined]);
    // Per connection.
    expect(budget.take(connection('quiet'), 1_000_000)).toBe(0);
  });
});

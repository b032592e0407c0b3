import { describe, expect, it } from '@jest/globals';
import type { WebSocket } from 'ws';
import { RealtimeConnection } from '../../../lib/connections/realtime-connection.js';
import type { RealtimeRateLimitOptions } from '../../../lib/interfaces/realtime-options.interface.js';
import { resolveRealtimeOptions } from '../../../lib/options/resolve-options.js';
import { initRateLimit, RateVerdict, takeRateTokens } from '../../../lib/server/rate-limiter.js';

const { ACCEPTED, TOO_MANY_MESSAGES, TOO_MANY_BYTES } = RateVerdict;

/** A connection whose buckets were filled at t = 0; the clock is the `now` each call is given. */
function setup(rateLimit: RealtimeRateLimitOptions, maxMessageSize = 1000) {
  const limit = resolveRealtimeOptions({ maxMessageSize, rateLimit }).rateLimit!;
  const connection = new RealtimeConnection('c1', 's1', { readyState: 1 } as WebSocket, '127.0.0.1', 0);
  initRateLimit(connection, 0, limit);
  /** The verdicts for `count` frames of `bytes` arriving at `now`. */
  const take = (now: number, count = 1, bytes = 10) =>
    Array.from({ length: count }, () => takeRateTokens(connection, now, limit, bytes));
  return { connection, limit, take };
}

describe('rate limiter (injected clock)', () => {
  it('accepts exactly the burst, then refuses', () => {
    const { take } = setup({ messagesPerSecond: 10, burst: 5, bytesPerSecond: 0 });
    expect(take(0, 6)).toEqual([ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED, TOO_MANY_MESSAGES]);
  });

  it('refills one message per 1000 / messagesPerSecond ms, not sooner, and never above the burst', () => {
    const { take } = setup({ messagesPerSecond: 10, burst: 5, bytesPerSecond: 0 });
    take(0, 5);
    // 99 ms at 10/s is 0.99 of a message: a fraction is not a message.
    expect(take(99)).toEqual([TOO_MANY_MESSAGES]);
    expect(take(100, 2)).toEqual([ACCEPTED, TOO_MANY_MESSAGES]);
    // 250 ms later: 2.5 messages, so exactly two.
    expect(take(350, 3)).toEqual([ACCEPTED, ACCEPTED, TOO_MANY_MESSAGES]);
    // A long pause fills the bucket to the burst and no further.
    expect(take(60_350, 6)).toEqual([ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED, TOO_MANY_MESSAGES]);
  });

  it('refuses a frame while less than one whole message is in the bucket', () => {
    const { take } = setup({ messagesPerSecond: 1, burst: 1, bytesPerSecond: 0 });
    expect(take(0)).toEqual([ACCEPTED]);
    expect(take(1)).toEqual([TOO_MANY_MESSAGES]);
    expect(take(500)).toEqual([TOO_MANY_MESSAGES]);
    expect(take(999)).toEqual([TOO_MANY_MESSAGES]);
    expect(take(1000)).toEqual([ACCEPTED]);
  });

  it('counts refusals in a row, and an accepted frame starts the count again', () => {
    const { connection, take } = setup({ messagesPerSecond: 10, burst: 1, bytesPerSecond: 0 });
    take(0);
    take(0, 3);
    expect(connection.rateViolations).toBe(3);
    expect(take(100)).toEqual([ACCEPTED]);
    expect(connection.rateViolations).toBe(0);
    take(100, 2);
    expect(connection.rateViolations).toBe(2);
  });

  it('limits bytes: a frame the byte bucket cannot pay for is refused and takes nothing', () => {
    const { connection, take } = setup({ messagesPerSecond: 100, burst: 100, bytesPerSecond: 1000 }, 1000);
    // byteBurst defaults to 2 × maxMessageSize = 2000 bytes.
    expect(take(0, 2, 900)).toEqual([ACCEPTED, ACCEPTED]);
    expect(take(0, 1, 900)).toEqual([TOO_MANY_BYTES]);
    // The refused frame paid nothing: the 200 bytes left still take two frames of 100.
    expect(take(0, 3, 100)).toEqual([ACCEPTED, ACCEPTED, TOO_MANY_BYTES]);
    expect(connection.rateTokens).toBe(96);
    // 1000 bytes/s: 899 bytes after 899 ms is one byte short of a 900-byte frame.
    expect(take(899, 1, 900)).toEqual([TOO_MANY_BYTES]);
    expect(take(900, 2, 900)).toEqual([ACCEPTED, TOO_MANY_BYTES]);
  });

  it('refuses for messages first when both buckets are short, and a byte refusal counts as a violation', () => {
    const { connection, take } = setup({ messagesPerSecond: 1, burst: 1, bytesPerSecond: 1000 }, 1000);
    expect(take(0, 1, 2000)).toEqual([ACCEPTED]);
    expect(take(0, 1, 10)).toEqual([TOO_MANY_MESSAGES]);
    expect(take(1000, 1, 1001)).toEqual([TOO_MANY_BYTES]);
    expect(connection.rateViolations).toBe(2);
    expect(take(1000, 1, 1000)).toEqual([ACCEPTED]);
    expect(connection.rateViolations).toBe(0);
  });

  it('with bytesPerSecond 0 counts messages only', () => {
    const { take } = setup({ messagesPerSecond: 100, burst: 3, bytesPerSecond: 0 }, 1000);
    expect(take(0, 4, 1000)).toEqual([ACCEPTED, ACCEPTED, ACCEPTED, TOO_MANY_MESSAGES]);
  });
});

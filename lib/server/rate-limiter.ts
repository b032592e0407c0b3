import type { RealtimeConnection } from '../connections/realtime-connection.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';

type RateLimit = NonNullable<ResolvedRealtimeOptions['rateLimit']>;

/** What {@link takeRateTokens} decided about one inbound frame. */
export const RateVerdict = {
  ACCEPTED: 0,
  /** The message bucket is empty. */
  TOO_MANY_MESSAGES: 1,
  /** The message bucket had a token, the byte bucket not enough bytes for this frame. */
  TOO_MANY_BYTES: 2,
} as const;

export type RateVerdict = (typeof RateVerdict)[keyof typeof RateVerdict];

/**
 * Two token buckets per connection (messages and bytes), kept in plain numbers on the connection
 * itself (no timer, no map): refilled lazily from the elapsed time whenever a frame arrives. A
 * frame is accepted only when both buckets can pay for it, and then pays both; a refused frame
 * takes nothing and counts one more refusal in a row (reset by the next accepted frame).
 */
export function takeRateTokens(
  connection: RealtimeConnection,
  now: number,
  limit: RateLimit,
  bytes: number,
): RateVerdict {
  const elapsed = now - connection.rateRefilledAt;
  if (elapsed > 0) {
    connection.rateTokens = Math.min(limit.burst, connection.rateTokens + (elapsed * limit.messagesPerSecond) / 1000);
    connection.rateBytes = Math.min(limit.byteBurst, connection.rateBytes + (elapsed * limit.bytesPerSecond) / 1000);
    connection.rateRefilledAt = now;
  }
  const bytesLimited = limit.bytesPerSecond > 0;
  if (connection.rateTokens >= 1 && (!bytesLimited || connection.rateBytes >= bytes)) {
    connection.rateTokens -= 1;
    if (bytesLimited) connection.rateBytes -= bytes;
    connection.rateViolations = 0;
    return RateVerdict.ACCEPTED;
  }
  connection.rateViolations++;
  return connection.rateTokens >= 1 ? RateVerdict.TOO_MANY_BYTES : RateVerdict.TOO_MANY_MESSAGES;
}

/** Fills the buckets of a new connection. */
export function initRateLimit(connection: RealtimeConnection, now: number, limit: RateLimit | undefined): void {
  if (!limit) return;
  connection.rateTokens = limit.burst;
  connection.rateBytes = limit.byteBurst;
  connection.rateRefilledAt = now;
}

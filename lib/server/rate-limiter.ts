import type { RealtimeConnection } from '../connections/realtime-connection.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';

type RateLimit = NonNullable<ResolvedRealtimeOptions['rateLimit']>;

/**
 * Token bucket per connection, kept in three numbers on the connection itself (no timer, no
 * map): refilled lazily from the elapsed time whenever a message arrives.
 */
export function takeMessageToken(connection: RealtimeConnection, now: number, limit: RateLimit): boolean {
  const elapsed = now - connection.rateRefilledAt;
  if (elapsed > 0) {
    connection.rateTokens = Math.min(limit.burst, connection.rateTokens + (elapsed * limit.messagesPerSecond) / 1000);
    connection.rateRefilledAt = now;
  }
  if (connection.rateTokens >= 1) {
    connection.rateTokens -= 1;
    connection.rateViolations = 0;
    return true;
  }
  connection.rateViolations++;
  return false;
}

/** Fills the bucket of a new connection. */
export function initRateLimit(connection: RealtimeConnection, now: number, limit: RateLimit | undefined): void {
  if (!limit) return;
  connection.rateTokens = limit.burst;
  connection.rateRefilledAt = now;
}

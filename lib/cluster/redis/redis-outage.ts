import type { Logger } from '@nestjs/common';

/**
 * What the log says about the Redis connection: one warning per outage (unreachable at start-up,
 * or lost after having been up) and one line when it is back, while ioredis' retries stay at
 * debug level. It also keeps the last connection error, more telling than what `connect()`
 * rejects with ("Connection is closed.").
 */
export class RedisOutageLog {
  /** The last connection error ioredis reported. */
  lastError: string | undefined;
  /** The command connection was up at least once (a 'close' before that is a failed connect). */
  private wasReady = false;
  /** A warning was logged for the current outage (one per outage, not one per retry). */
  private outageLogged = false;

  constructor(
    /** Where Redis is (without a password). */
    private readonly address: string,
    private readonly logger: Logger,
  ) {}

  connectionError(error: unknown): void {
    this.lastError = (error as Error)?.message ?? String(error);
    // ioredis reconnects by itself and reports every retry: the outage itself is warned of once
    // (unreachable/lost), the retries stay at debug level.
    this.logger.debug(`redis: ${(error as Error)?.message ?? String(error)}`);
  }

  /** Redis could not be reached at start-up: warned at once, and the node starts degraded. */
  unreachable(reason: string): void {
    this.outageLogged = true;
    this.logger.warn(
      `Redis at ${this.address} is unreachable (${reason}): starting degraded, rooms, users and ` +
        'announcements reach this node only until it is back (ioredis keeps retrying; failFast: true ' +
        'fails start-up instead)',
    );
  }

  /** The command connection dropped (after having been up, unless the adapter is stopping). */
  lost(stopped: boolean): void {
    if (stopped || this.outageLogged || !this.wasReady) return;
    this.outageLogged = true;
    this.logger.warn(`lost the connection to Redis at ${this.address}: this node only until it is back`);
  }

  /** The command connection is ready; true the first time. */
  ready(): boolean {
    const first = !this.wasReady;
    this.wasReady = true;
    if (this.outageLogged) {
      this.outageLogged = false;
      this.logger.log(`Redis at ${this.address} is back`);
    }
    return first;
  }
}

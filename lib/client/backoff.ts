/** Reconnect pacing (see {@link RealtimeClientOptions.reconnect}). */
export interface BackoffOptions {
  /** Delay ceiling of the first retry, doubled on each further one. @default 500 ms */
  baseDelay?: number;
  /** Highest delay ceiling. @default 30 000 ms */
  maxDelay?: number;
  /** Retries in a row before giving up (`closed`). @default Infinity (keep trying) */
  maxAttempts?: number;
}

/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): the n-th retry (from 0) waits a uniformly random time in
 * `[0, min(maxDelay, baseDelay · 2ⁿ)]`. The randomness spreads a crowd of clients that lost
 * the same server over the whole window instead of having them return in waves.
 */
export class Backoff {
  readonly baseDelay: number;
  readonly maxDelay: number;
  readonly maxAttempts: number;
  private attempt = 0;

  constructor(
    options: BackoffOptions = {},
    /** Returns a number in [0, 1); injectable so tests can check the bounds exactly. */
    private readonly random: () => number = Math.random,
  ) {
    this.baseDelay = options.baseDelay ?? 500;
    this.maxDelay = options.maxDelay ?? 30_000;
    this.maxAttempts = options.maxAttempts ?? Infinity;
    if (!(this.baseDelay >= 0) || !(this.maxDelay >= this.baseDelay)) {
      throw new RangeError(
        `reconnect: need 0 <= baseDelay <= maxDelay (got baseDelay ${this.baseDelay}, maxDelay ${this.maxDelay})`,
      );
    }
    if (!(this.maxAttempts >= 0)) throw new RangeError(`reconnect.maxAttempts must be >= 0 (got ${this.maxAttempts})`);
  }

  /** Retries made since the last {@link reset}. */
  get attempts(): number {
    return this.attempt;
  }

  /** True while another retry is allowed. */
  get canRetry(): boolean {
    return this.attempt < this.maxAttempts;
  }

  /** The upper bound of the n-th retry's delay: `min(maxDelay, baseDelay · 2ⁿ)`. */
  ceiling(attempt: number): number {
    // 2ⁿ overflows to Infinity for large n; min() keeps the cap.
    return Math.min(this.maxDelay, this.baseDelay * 2 ** attempt);
  }

  /** The delay of the next retry, counting it. */
  next(): number {
    const delay = Math.floor(this.random() * this.ceiling(this.attempt));
    this.attempt++;
    return delay;
  }

  /** After a connection that worked: the next failure starts from the base again. */
  reset(): void {
    this.attempt = 0;
  }
}

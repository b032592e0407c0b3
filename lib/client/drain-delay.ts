/** Pacing of the reconnect after a `1012` drain (see {@link RealtimeClientOptions.drainReconnect}). */
export interface DrainReconnectOptions {
  /** Shortest wait. @default 1 000 ms */
  minDelay?: number;
  /** Longest wait. @default 5 000 ms */
  maxDelay?: number;
}

export const DRAIN_RECONNECT_DEFAULTS = { minDelay: 1_000, maxDelay: 5_000 } as const;

/**
 * The wait before reconnecting after `1012` (a node restarting or draining for a deploy): a
 * uniformly random time in `[minDelay, maxDelay]`. Every client of the node gets the close at
 * the same moment; reconnecting at once would have them all authenticate and resume on the
 * remaining nodes within a few milliseconds — a herd of handshakes, token checks and history
 * reads. Spread over a window, the same work arrives as a steady stream. `{ minDelay: 0,
 * maxDelay: 0 }` reconnects at once. The messages meanwhile are not lost: `resume` replays them.
 */
export class DrainDelay {
  readonly minDelay: number;
  readonly maxDelay: number;

  constructor(
    options: DrainReconnectOptions = {},
    /** Returns a number in [0, 1); injectable so tests can check the bounds exactly. */
    private readonly random: () => number = Math.random,
  ) {
    // One bound alone moves the other default out of its way: `{ maxDelay: 500 }` is [0, 500].
    const { minDelay, maxDelay } = DRAIN_RECONNECT_DEFAULTS;
    this.minDelay = options.minDelay ?? (options.maxDelay !== undefined && options.maxDelay < minDelay ? 0 : minDelay);
    this.maxDelay = options.maxDelay ?? Math.max(this.minDelay, maxDelay);
    if (!(this.minDelay >= 0) || !(this.maxDelay >= this.minDelay) || !Number.isFinite(this.maxDelay)) {
      throw new RangeError(
        `drainReconnect: need 0 <= minDelay <= maxDelay, finite (got minDelay ${this.minDelay}, maxDelay ${this.maxDelay})`,
      );
    }
  }

  /** The next wait, in whole ms within `[minDelay, maxDelay]`. */
  next(): number {
    // floor(random · (span + 1)) reaches maxDelay itself, for random() just below 1.
    return this.minDelay + Math.floor(this.random() * (this.maxDelay - this.minDelay + 1));
  }
}

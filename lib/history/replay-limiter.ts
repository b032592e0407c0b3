/**
 * A counting semaphore over the replays running on this node: at most `limit` at once, the
 * others wait in arrival order. Replays read history (from memory or Redis) and write it out at
 * the reader's pace; a bound keeps a reconnect storm from reading every room's history at once.
 */
export class ReplayLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Waits for a slot; call the returned function exactly once to give it back. */
  async acquire(): Promise<() => void> {
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter: `running` stays as it is.
      if (next !== undefined) next();
      else this.running--;
    };
  }

  /** Replays running now (for leak checks and tests). */
  get active(): number {
    return this.running;
  }

  /** Replays waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }
}

import { performance } from 'node:perf_hooks';

/**
 * How late this node's event loop runs right now, for shedding new connections while it is
 * overloaded (`maxEventLoopDelay`).
 *
 * One timer every `interval` ms notes how late it fired. The lag read at an upgrade is the larger
 * of the **smaller** of the last two latenesses, and how overdue the next tick already is. So:
 * - a loop that stays late (a herd of handshakes, turn after turn) is seen from its second late
 *   tick on, and within a turn as soon as that turn's work has run past the bound;
 * - one long pause with the loop on time again after it (a GC, a module loaded on first use) is
 *   not overload: the upgrades that waited through it are served, not refused.
 * A window's percentile (what readiness probes use, see `nest-realtime/terminus`) would answer
 * seconds later: a herd of reconnects does its damage within the first second.
 */
export class EventLoopLag {
  private timer: NodeJS.Timeout | undefined;
  private lastTickAt = 0;
  private lastLag = 0;
  private previousLag = 0;

  constructor(readonly interval: number) {}

  start(): void {
    this.stop();
    this.lastTickAt = performance.now();
    this.lastLag = this.previousLag = 0;
    this.timer = setInterval(() => this.tick(), this.interval).unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Milliseconds the loop is behind now (0 when it keeps up, or when not started). */
  current(now = performance.now()): number {
    if (this.timer === undefined) return 0;
    return Math.max(Math.min(this.lastLag, this.previousLag), now - this.lastTickAt - this.interval);
  }

  private tick(): void {
    const now = performance.now();
    this.previousLag = this.lastLag;
    this.lastLag = Math.max(0, now - this.lastTickAt - this.interval);
    this.lastTickAt = now;
  }
}

/**
 * `maxEventLoopDelay`: refuses new connections while the event loop is later than the bound.
 * Refusing at the upgrade costs the node one short HTTP answer; accepting costs it a handshake,
 * a token check and a resume (history reads, room joins) that, queued behind a herd, may finish
 * after the client has given up on them.
 */
export class OverloadShedding {
  private readonly lag: EventLoopLag;

  constructor(
    readonly maxDelay: number,
    /** Returns a number in [0, 1); injectable so tests can pin `Retry-After`. */
    private readonly random: () => number = Math.random,
  ) {
    // Fine enough to see a lag of the bound's size within a fraction of it, coarse enough to cost
    // nothing (at most ten timers a second).
    this.lag = new EventLoopLag(Math.max(10, Math.min(100, Math.floor(maxDelay / 4))));
  }

  start(): void {
    this.lag.start();
  }

  stop(): void {
    this.lag.stop();
  }

  /** True while the loop is later than `maxDelay`. */
  get overloaded(): boolean {
    return this.lag.current() > this.maxDelay;
  }

  /**
   * The `Retry-After` of a refusal, in whole seconds: 1 to 5, at random, so the clients refused
   * together (a herd) do not come back together. Browsers cannot read it; the SDK's own backoff
   * (full jitter) spreads them the same way.
   */
  retryAfter(): number {
    return 1 + Math.floor(this.random() * 5);
  }
}

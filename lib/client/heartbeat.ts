import { PatientTimer } from './patient-timer.js';

/** App-level heartbeat settings (see {@link RealtimeClientOptions.heartbeat}). */
export interface HeartbeatOptions {
  /** Send a `ping` after this long without any frame from the server. @default 25 000 ms */
  interval?: number;
  /**
   * Declare the connection dead when nothing arrives this long after the `ping`. A check that runs
   * late (a stalled event loop, a throttled tab) first reads what arrived meanwhile: the stall is
   * not counted against the server. @default 10 000 ms
   */
  timeout?: number;
}

/**
 * Dead-connection detection a browser can do: browsers answer the server's protocol pings
 * themselves and never tell the page, so a page on a half-open TCP connection (laptop lid
 * closed, Wi-Fi switched) would wait forever. The client sends the app-level `ping` after
 * `interval` of silence and gives up on the socket when no frame at all arrives within
 * `timeout` — any frame proves the peer alive, not only the `pong`.
 *
 * One timer per client, re-armed lazily: receiving a frame only stamps the time, it does not
 * reset a timer (which would be an allocation and a syscall per message). It is a
 * {@link PatientTimer}: a check that runs late after a stall lets the frames that arrived
 * meanwhile be read before it judges the server silent.
 */
export class Heartbeat {
  readonly interval: number;
  readonly timeout: number;
  private readonly timer = new PatientTimer(() => this.check());
  private lastFrameAt = 0;
  private pingSentAt = 0;

  constructor(
    options: HeartbeatOptions,
    private readonly sendPing: () => void,
    private readonly onDead: () => void,
  ) {
    this.interval = options.interval ?? 25_000;
    this.timeout = options.timeout ?? 10_000;
    if (!(this.interval > 0) || !(this.timeout > 0)) {
      throw new RangeError(`heartbeat: interval and timeout must be > 0 (got ${this.interval}, ${this.timeout})`);
    }
  }

  /** Called for every inbound frame. */
  received(now: number): void {
    this.lastFrameAt = now;
    this.pingSentAt = 0;
  }

  start(now: number): void {
    this.stop();
    this.lastFrameAt = now;
    this.pingSentAt = 0;
    this.arm(this.interval);
  }

  stop(): void {
    this.timer.cancel();
  }

  private arm(delay: number): void {
    this.timer.start(Math.max(1, delay));
  }

  private check(): void {
    const now = Date.now();
    if (this.pingSentAt !== 0) {
      const waited = now - this.pingSentAt;
      if (waited >= this.timeout) return this.onDead();
      return this.arm(Math.min(this.timeout - waited, this.interval));
    }
    const silent = now - this.lastFrameAt;
    if (silent < this.interval) return this.arm(this.interval - silent);
    this.pingSentAt = now;
    this.sendPing();
    // Look again within `interval` too: once the answer is in, the next ping is due an
    // interval after it, not a whole `timeout` after this ping.
    this.arm(Math.min(this.timeout, this.interval));
  }
}

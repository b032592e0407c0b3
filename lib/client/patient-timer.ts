/**
 * How much later than due a timer may run and still count as on time. A timer in a running
 * event loop fires within a millisecond or two (a foreground browser tab clamps nested timers to
 * 4 ms); later than this, the loop or the tab was not running: a stall.
 *
 * Kept small, far below one second, because lateness only shows the part of a stall *after* the
 * due time: a frame that arrived before the deadline, during a stall that ends just after it, has
 * not been read either — and such a stall slips through whenever it ends within the slack (for a
 * stall of length L spanning the deadline, with probability slack / L: a 1 s slack would let half
 * of the 2 s GC pauses through). A stall that is taken for one costs little: one more timer and a
 * few milliseconds before the verdict, and only on a deadline that fires, rare by nature.
 * A quarter of the delay for short timers, so a short deadline does not tolerate a stall nearly
 * as long as itself.
 */
const MAX_SLACK_MS = 20;

/**
 * The grace hop after a stall. Node runs its poll phase (which reads sockets and dispatches their
 * messages) between two timers phases, so any delay does; browsers run the message tasks queued
 * during the stall before a timer queued after them. A few milliseconds rather than one: a
 * compressed frame is inflated on Node's thread pool and delivered one poll phase later.
 */
const GRACE_MS = 10;

/**
 * A one-shot timer for deadlines that does not take its own lateness out on the peer.
 *
 * After a stall (GC, a burst of work, a throttled background tab), timers run before the frames
 * that arrived meanwhile are dispatched — in Node the timers phase comes before the poll phase;
 * in a browser, timer and message tasks are queued apart. A deadline judged then would find the
 * answer missing while it sits unread in the socket's buffer, and give up on a healthy connection.
 * So a timer that fires late by more than the slack does not call back yet: it re-arms a short
 * grace hop, during which pending I/O is dispatched — an awaited event that was there cancels
 * the timer, as it does on time. The hop calls back whatever its own lateness: nothing had
 * arrived by the late firing, which was already past the deadline (the deadline is judged against
 * the time of the previous check, as the server's heartbeat sweep does), and a second wait could
 * go on forever in a tab where every timer is late.
 *
 * One timer per deadline as with `setTimeout`: the callback reaches its owner through the
 * timer's argument, not a closure per arming.
 */
export class PatientTimer {
  private handle: ReturnType<typeof setTimeout> | undefined;
  /** Firing after this time (`Date.now()`) is a stall; Infinity while the grace hop is armed. */
  private lateAfter = 0;

  constructor(private readonly callback: () => void) {}

  /** True while armed (the deadline, or its grace hop). */
  get armed(): boolean {
    return this.handle !== undefined;
  }

  /** Arms the timer `delay` ms from now, replacing any armed one. */
  start(delay: number): void {
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.lateAfter = Date.now() + delay + Math.min(MAX_SLACK_MS, delay / 4);
    this.handle = setTimeout(PatientTimer.fire, delay, this);
  }

  /** Disarms the timer (the awaited event arrived); the callback is not called. */
  cancel(): void {
    if (this.handle !== undefined) clearTimeout(this.handle);
    this.handle = undefined;
  }

  private static fire(timer: PatientTimer): void {
    if (Date.now() > timer.lateAfter) {
      timer.lateAfter = Number.POSITIVE_INFINITY;
      timer.handle = setTimeout(PatientTimer.fire, GRACE_MS, timer);
      return;
    }
    timer.handle = undefined;
    timer.callback();
  }
}

import { OfflineQueueFullError } from './client-errors.js';

interface QueuedFrame {
  /** The serialized frame, ready to write. */
  text: string;
  type: string;
  requestId: string | undefined;
}

/**
 * Messages the app sent while the client was not ready (offline, or still authenticating and
 * resuming). They are written, in order, once the connection is authenticated again, so they
 * go out with the right identity and after the room state is restored.
 *
 * Bounded: past `limit` a send fails at once with {@link OfflineQueueFullError} instead of
 * growing memory without bound while a server is unreachable.
 */
export class OfflineQueue {
  private frames: QueuedFrame[] = [];

  constructor(readonly limit: number) {
    if (!(limit >= 0)) throw new RangeError(`offlineQueueSize must be >= 0 (got ${limit})`);
  }

  get size(): number {
    return this.frames.length;
  }

  /** Queues a frame; throws {@link OfflineQueueFullError} when full. */
  push(text: string, type: string, requestId?: string): void {
    if (this.frames.length >= this.limit) throw new OfflineQueueFullError(type, this.limit);
    this.frames.push({ text, type, requestId });
  }

  /**
   * Puts frames back at the head of the queue, in the given order, whatever the limit: requests
   * written to a connection that was lost before they were answered (they were accepted once).
   */
  requeue(frames: readonly { text: string; type: string; id: string }[]): void {
    if (frames.length === 0) return;
    this.frames.unshift(...frames.map(({ text, type, id }) => ({ text, type, requestId: id })));
  }

  /** Drops a queued request (it timed out before it could be sent). */
  removeRequest(requestId: string): void {
    const index = this.frames.findIndex((frame) => frame.requestId === requestId);
    if (index !== -1) this.frames.splice(index, 1);
  }

  /** Takes every queued frame, oldest first, leaving the queue empty. */
  drain(): QueuedFrame[] {
    const frames = this.frames;
    this.frames = [];
    return frames;
  }
}

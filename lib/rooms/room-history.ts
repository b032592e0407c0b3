import type { OutboundFrame } from '../broadcast/outbound-frame.js';

/** A broadcast kept for replay: the frame exactly as it went out, with its `seq` and time. */
export interface HistoryEntry {
  seq: number;
  at: number;
  frame: OutboundFrame;
}

/**
 * A room's latest broadcasts on this node, for `resume`: a fixed-size ring, so memory is bounded
 * by configuration (`historySize` frames per room), never by traffic. Entries are the framed
 * buffers that went to the members, so a replay costs no serialization.
 */
export class RoomHistory {
  private readonly entries: (HistoryEntry | undefined)[];
  /** Index of the next write. */
  private head = 0;
  private length = 0;

  constructor(
    readonly size: number,
    readonly ttl: number,
  ) {
    this.entries = new Array<HistoryEntry | undefined>(size);
  }

  /** Appends a broadcast; `seq` is one above the previous one's. */
  push(seq: number, at: number, frame: OutboundFrame): void {
    this.entries[this.head] = { seq, at, frame };
    this.head = (this.head + 1) % this.size;
    if (this.length < this.size) this.length++;
  }

  /**
   * The entries after `afterSeq` up to `lastSeq` (the room's current seq), oldest first, or
   * `undefined` when the history no longer reaches back to `afterSeq + 1` (evicted or older
   * than `ttl`).
   */
  since(afterSeq: number, lastSeq: number, now: number): HistoryEntry[] | undefined {
    const missing = lastSeq - afterSeq;
    if (missing <= 0) return [];
    if (missing > this.length) return undefined;
    const result: HistoryEntry[] = new Array<HistoryEntry>(missing);
    for (let i = 0; i < missing; i++) {
      const entry = this.entries[(this.head - missing + i + this.size) % this.size]!;
      if (entry.seq !== afterSeq + 1 + i || now - entry.at > this.ttl) return undefined;
      result[i] = entry;
    }
    return result;
  }

  /** Entries held (for leak checks). */
  get count(): number {
    return this.length;
  }
}

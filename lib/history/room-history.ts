import { frameBytes, type OutboundFrame } from '../broadcast/outbound-frame.js';
import type { FrameKeeper, TextFrame } from '../connections/frame-write.js';
import type { BudgetedHistory, HistoryBudget, HistoryEviction, HistoryCounters } from './history-budget.js';

/** A broadcast kept for replay: the frame exactly as it went out, with its `seq` and time. */
export interface HistoryEntry {
  seq: number;
  at: number;
  frame: OutboundFrame;
}

/** The limits of one room's history (its room settings). */
export interface RoomHistoryLimits {
  /** Entries kept. */
  size: number;
  /** Milliseconds an entry stays replayable. */
  ttl: number;
  /** Bytes kept (the frames' wire size, compressed twins included). */
  maxBytes: number;
  /** Kept while the room has no member on this node (`historyWithoutMembers`). @default false */
  withoutMembers?: boolean;
}

/**
 * A room's latest broadcasts on this node, for `resume`: a ring of at most `size` entries and
 * `maxBytes` bytes, whose bytes also count against the node's {@link HistoryBudget}. Entries are
 * the framed buffers that went to the members (one copy: the payload is a view into the framed
 * buffer), so a replay costs no serialization.
 *
 * A frame's compressed twin (`permessage-deflate`, connections/frame-write.ts) is made on first
 * use, often after the frame was kept: by its first delivery to a compressing member, or by a
 * replay much later. The history keeps the frame, so it holds the twin too; it is told when the
 * twin is made ({@link FrameKeeper}) and counts it against both caps, so `historyMaxBytes` and
 * `history.maxBytes` bound what is really held.
 *
 * Entries only ever leave from the oldest end, so what is held is always a gap-free run of
 * `seq`s ending at the latest one written.
 */
export class RoomHistory implements BudgetedHistory, FrameKeeper {
  private readonly entries: (HistoryEntry | undefined)[];
  /** Index of the oldest entry. */
  private start = 0;
  private length = 0;
  private held = 0;

  constructor(
    readonly limits: RoomHistoryLimits,
    private readonly budget?: HistoryBudget,
    private readonly counters?: Pick<HistoryCounters, 'countHistoryEviction'>,
  ) {
    this.entries = new Array<HistoryEntry | undefined>(limits.size);
  }

  get size(): number {
    return this.limits.size;
  }

  get ttl(): number {
    return this.limits.ttl;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.held;
  }

  /** Entries held (for leak checks). */
  get count(): number {
    return this.length;
  }

  /** Appends a broadcast; `seq` is one above the previous one's. */
  push(seq: number, at: number, frame: OutboundFrame): void {
    if (this.length === this.limits.size) this.dropOldest();
    this.entries[(this.start + this.length) % this.limits.size] = { seq, at, frame };
    this.length++;
    frame.keeper = this;
    this.grow(frameBytes(frame));
  }

  /** A kept frame's compressed twin was made: it is held as long as the frame, so it counts. */
  twinMade(_frame: TextFrame, bytes: number): void {
    this.grow(bytes);
  }

  private grow(bytes: number): void {
    this.held += bytes;
    this.budget?.charge(this, bytes);
    // The room's own cap first: a room over it gives up its own oldest entries, not other rooms'.
    while (this.held > this.limits.maxBytes && this.length > 0) this.evictOldest('room_bytes');
    this.budget?.enforce();
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
    const size = this.limits.size;
    const first = this.start + this.length - missing;
    const result: HistoryEntry[] = new Array<HistoryEntry>(missing);
    for (let i = 0; i < missing; i++) {
      const entry = this.entries[(first + i) % size]!;
      if (entry.seq !== afterSeq + 1 + i || now - entry.at > this.limits.ttl) return undefined;
      result[i] = entry;
    }
    return result;
  }

  /** Drops the entries older than the ttl (they can no longer be replayed); returns how many. */
  dropExpired(now: number): number {
    let dropped = 0;
    while (this.length > 0 && now - this.entries[this.start]!.at > this.limits.ttl) {
      this.dropOldest();
      dropped++;
    }
    return dropped;
  }

  /** Drops every entry, giving its bytes back to the node's budget. */
  clear(): void {
    while (this.length > 0) this.dropOldest();
  }

  evictOldest(reason: HistoryEviction): number {
    const freed = this.dropOldest();
    if (freed > 0) this.counters?.countHistoryEviction(reason, 1);
    return freed;
  }

  /** Removes the oldest entry and gives its bytes back; returns them (0 when empty). */
  private dropOldest(): number {
    if (this.length === 0) return 0;
    const entry = this.entries[this.start]!;
    this.entries[this.start] = undefined;
    this.start = (this.start + 1) % this.limits.size;
    this.length--;
    // What push() and twinMade() counted: the frame, and its twin if one was made meanwhile (a
    // twin made after this, by a replay still under way, is no longer the history's).
    const frame = entry.frame;
    frame.keeper = undefined;
    const bytes = frameBytes(frame);
    this.held -= bytes;
    this.budget?.release(this, bytes);
    return bytes;
  }
}

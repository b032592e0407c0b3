/** Why history entries were dropped before they aged out (`websocket_history_evicted_total{reason}`). */
export type HistoryEviction =
  /** The room's own byte cap (`historyMaxBytes`). */
  | 'room_bytes'
  /** The node's budget for all rooms (`history.maxBytes`): the least recently used rooms gave way. */
  | 'node_bytes';

/** Every {@link HistoryEviction}, for metrics that show each reason from the start. */
export const HISTORY_EVICTION_REASONS: readonly HistoryEviction[] = ['room_bytes', 'node_bytes'];

/** What the budget needs of a room's history: its size, and a way to give up its oldest entry. */
export interface BudgetedHistory {
  readonly bytes: number;
  /** Drops the oldest entry (counted as evicted); returns the bytes freed (0 when empty). */
  evictOldest(reason: HistoryEviction): number;
}

/** Where evictions and the bytes held are reported (RealtimeStats). */
export interface HistoryCounters {
  historyBytes: number;
  countHistoryEviction(reason: HistoryEviction, entries: number): void;
}

/**
 * One byte budget for all room history on a node. Each room's history reports the bytes it
 * takes and gives back; past the budget, the oldest entries of the least recently written rooms
 * go first (a Map in insertion order is the LRU list: a write moves the room to its end), so a
 * busy room pushes out what idle rooms kept rather than its own recent past.
 *
 * Eviction only ever removes a room's *oldest* entries, so a room's history stays a gap-free
 * run of `seq`s ending at its latest: a client that missed an evicted entry is told
 * `history_expired`, never handed a replay with a hole in it.
 */
export class HistoryBudget {
  private readonly rooms = new Map<BudgetedHistory, true>();
  private total = 0;

  constructor(
    readonly maxBytes: number,
    private readonly counters?: HistoryCounters,
  ) {}

  /** Bytes held by every room's history on this node. */
  get bytes(): number {
    return this.total;
  }

  /** `history` grew by `bytes` (a write): it becomes the most recently used. Call `enforce()` after. */
  charge(history: BudgetedHistory, bytes: number): void {
    this.rooms.delete(history);
    this.rooms.set(history, true);
    this.adjust(bytes);
  }

  /** `history` shrank by `bytes` (trimmed, expired or evicted). */
  release(history: BudgetedHistory, bytes: number): void {
    this.adjust(-bytes);
    if (history.bytes === 0) this.rooms.delete(history);
  }

  /** Rooms holding history (for leak checks). */
  get roomCount(): number {
    return this.rooms.size;
  }

  private adjust(delta: number): void {
    this.total += delta;
    if (this.counters) this.counters.historyBytes = this.total;
  }

  /** Evicts the oldest entries of the least recently used rooms until the total is within the budget. */
  enforce(): void {
    if (this.total <= this.maxBytes) return;
    for (const history of this.rooms.keys()) {
      // evictOldest() calls release(), which drops the room from the map once it is empty.
      while (this.total > this.maxBytes && history.evictOldest('node_bytes') > 0);
      if (this.total <= this.maxBytes) return;
    }
  }
}

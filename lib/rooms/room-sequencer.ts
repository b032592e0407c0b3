import type { OutboundFrame } from '../broadcast/outbound-frame.js';
import { HistoryBudget, type HistoryCounters } from './history-budget.js';
import { RoomHistory } from './room-history.js';
import type { ResolvedRoomSettings } from '../options/room-settings.js';
import { newEpoch } from '../utils/epoch.js';

/** A room's position on this node: its last `seq`, its `epoch`, and the history behind them. */
export interface RoomSequence {
  seq: number;
  epoch: string;
  lastUsedAt: number;
  history: RoomHistory | undefined;
  /** When the room's last member on this node left (undefined: it has had none since it was sequenced). */
  leftAt: number | undefined;
}

/**
 * Per-room broadcast sequence numbers (`seq`, gap-free from 1), epochs and history on this node,
 * kept apart from membership: a room without members here still counts its broadcasts (a REST
 * post to an empty room gets a `seq`, and a client returning later can tell what it missed).
 * With a cluster this is the fallback used while the cluster is unreachable, under an epoch of
 * this node's own.
 *
 * History is kept only where someone can ask for it: while the room has members, and for
 * `idleTtl` after its last member left (a dropped session may come back and `resume`). A room
 * nobody has joined keeps none unless its settings say `historyWithoutMembers`. All of it counts
 * against one node-wide byte budget.
 *
 * A sequence unused for `idleTtl` (or its history's ttl, if longer) is forgotten; when the room
 * is used again it starts over with a new epoch, which is exactly what the epoch is for ("my
 * position is meaningless now").
 */
export class RoomSequencer {
  private readonly sequences = new Map<string, RoomSequence>();
  readonly budget: HistoryBudget;

  constructor(
    private readonly idleTtl: number,
    historyMaxBytes = Number.MAX_SAFE_INTEGER,
    private readonly counters?: HistoryCounters,
  ) {
    this.budget = new HistoryBudget(historyMaxBytes, counters);
  }

  /** Allocates the next sequence number of `roomId`. */
  next(roomId: string, now: number): RoomSequence {
    const sequence = this.current(roomId, now);
    sequence.lastUsedAt = now;
    sequence.seq++;
    return sequence;
  }

  /** Current position of a room (seq 0 and a fresh epoch if it has none yet). */
  current(roomId: string, now: number): RoomSequence {
    let sequence = this.sequences.get(roomId);
    if (!sequence) {
      sequence = { seq: 0, epoch: newEpoch(), lastUsedAt: now, history: undefined, leftAt: undefined };
      this.sequences.set(roomId, sequence);
    }
    return sequence;
  }

  /** The position of a room, if this node has one. */
  peek(roomId: string): RoomSequence | undefined {
    return this.sequences.get(roomId);
  }

  /** The room's last member on this node left: its history is kept for `idleTtl` more. */
  membersLeft(roomId: string, now: number): void {
    const sequence = this.sequences.get(roomId);
    if (sequence !== undefined) sequence.leftAt = now;
  }

  /**
   * Whether a broadcast to the room now would be kept for replay: the room keeps history, and
   * it has members here, had some within `idleTtl`, or keeps history without members.
   */
  keepsHistory(roomId: string, settings: ResolvedRoomSettings, hasMembers: boolean, now: number): boolean {
    if (settings.historySize === 0) return false;
    if (hasMembers || settings.historyWithoutMembers) return true;
    const leftAt = this.sequences.get(roomId)?.leftAt;
    return leftAt !== undefined && now - leftAt < this.idleTtl;
  }

  /** Keeps the frame just sequenced by `next()` for replay, under the room's history settings. */
  record(sequence: RoomSequence, frame: OutboundFrame, settings: ResolvedRoomSettings): void {
    if (settings.historySize === 0) return;
    let history = sequence.history;
    const limits = history?.limits;
    if (
      history === undefined ||
      limits!.size !== settings.historySize ||
      limits!.ttl !== settings.historyTtl ||
      limits!.maxBytes !== settings.historyMaxBytes ||
      limits!.withoutMembers !== settings.historyWithoutMembers
    ) {
      history?.clear();
      sequence.history = history = new RoomHistory(
        {
          size: settings.historySize,
          ttl: settings.historyTtl,
          maxBytes: settings.historyMaxBytes,
          withoutMembers: settings.historyWithoutMembers,
        },
        this.budget,
        this.counters,
      );
    }
    history.push(sequence.seq, sequence.lastUsedAt, frame);
  }

  /**
   * The cleanup pass: drops expired entries, the history of rooms nobody can resume any more
   * (no member here for `idleTtl`, unless the room keeps history without members), and
   * sequences idle for `idleTtl` whose room is not live; returns how many sequences were forgotten.
   */
  purge(now: number, isLive: (roomId: string) => boolean): number {
    let purged = 0;
    for (const [roomId, sequence] of this.sequences) {
      const live = isLive(roomId);
      const history = sequence.history;
      if (history !== undefined) {
        history.dropExpired(now);
        const abandoned =
          !live &&
          (sequence.leftAt === undefined || now - sequence.leftAt >= this.idleTtl) &&
          history.limits.withoutMembers !== true;
        if (abandoned) history.clear();
        if (history.count === 0) sequence.history = undefined;
      }
      const ttl = Math.max(this.idleTtl, sequence.history?.ttl ?? 0);
      if (now - sequence.lastUsedAt >= ttl && !live) {
        sequence.history?.clear();
        this.sequences.delete(roomId);
        purged++;
      }
    }
    return purged;
  }

  get size(): number {
    return this.sequences.size;
  }
}

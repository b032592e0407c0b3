import type { OutboundFrame } from '../broadcast/outbound-frame.js';
import { RoomHistory } from './room-history.js';
import type { ResolvedRoomSettings } from './room-settings.js';
import { newEpoch } from '../utils/epoch.js';

/** A room's position on this node: its last `seq`, its `epoch`, and the history behind them. */
export interface RoomSequence {
  seq: number;
  epoch: string;
  lastUsedAt: number;
  history: RoomHistory | undefined;
}

/**
 * Per-room broadcast sequence numbers (`seq`, gap-free from 1), epochs and history on this node,
 * kept apart from membership: a room without members here still counts its broadcasts (a REST
 * post to an empty room gets a `seq`, and a client returning later can tell what it missed).
 * With a cluster this is the fallback used while the cluster is unreachable, under an epoch of
 * this node's own.
 *
 * A sequence unused for `idleTtl` (or its history's ttl, if longer) is forgotten; when the room
 * is used again it starts over with a new epoch, which is exactly what the epoch is for ("my
 * position is meaningless now").
 */
export class RoomSequencer {
  private readonly sequences = new Map<string, RoomSequence>();

  constructor(private readonly idleTtl: number) {}

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
      sequence = { seq: 0, epoch: newEpoch(), lastUsedAt: now, history: undefined };
      this.sequences.set(roomId, sequence);
    }
    return sequence;
  }

  /** The position of a room, if this node has one. */
  peek(roomId: string): RoomSequence | undefined {
    return this.sequences.get(roomId);
  }

  /** Keeps the frame just sequenced by `next()` for replay, under the room's history settings. */
  record(sequence: RoomSequence, frame: OutboundFrame, settings: ResolvedRoomSettings): void {
    if (settings.historySize === 0) return;
    let history = sequence.history;
    if (history === undefined || history.size !== settings.historySize || history.ttl !== settings.historyTtl) {
      sequence.history = history = new RoomHistory(settings.historySize, settings.historyTtl);
    }
    history.push(sequence.seq, sequence.lastUsedAt, frame);
  }

  /** Forgets sequences idle for `idleTtl` whose room is not live; returns how many. */
  purge(now: number, isLive: (roomId: string) => boolean): number {
    let purged = 0;
    for (const [roomId, sequence] of this.sequences) {
      const ttl = Math.max(this.idleTtl, sequence.history?.ttl ?? 0);
      if (now - sequence.lastUsedAt >= ttl && !isLive(roomId)) {
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

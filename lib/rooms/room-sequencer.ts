import { randomBytes } from 'node:crypto';

interface Sequence {
  seq: number;
  epoch: string;
  lastUsedAt: number;
}

/**
 * Per-room broadcast sequence numbers (`seq`, gap-free from 1) and epochs, kept apart from
 * membership: a room without members on this node still counts its broadcasts (a REST post to
 * an empty room gets a `seq`, and a client returning later can tell what it missed).
 *
 * A sequence unused for `idleTtl` is forgotten; when the room is used again it starts over with
 * a new epoch, which is exactly what the epoch is for ("my position is meaningless now").
 */
export class RoomSequencer {
  private readonly sequences = new Map<string, Sequence>();

  constructor(private readonly idleTtl: number) {}

  /** Allocates the next sequence number of `roomId`. */
  next(roomId: string, now: number): { seq: number; epoch: string } {
    let sequence = this.sequences.get(roomId);
    if (!sequence) this.sequences.set(roomId, (sequence = { seq: 0, epoch: newEpoch(), lastUsedAt: now }));
    sequence.lastUsedAt = now;
    sequence.seq++;
    return sequence;
  }

  /** Current position of a room (seq 0 and a fresh epoch if it has none yet). */
  current(roomId: string, now: number): { seq: number; epoch: string } {
    let sequence = this.sequences.get(roomId);
    if (!sequence) this.sequences.set(roomId, (sequence = { seq: 0, epoch: newEpoch(), lastUsedAt: now }));
    return sequence;
  }

  /** Forgets sequences idle for `idleTtl` whose room is not live; returns how many. */
  purge(now: number, isLive: (roomId: string) => boolean): number {
    let purged = 0;
    for (const [roomId, sequence] of this.sequences) {
      if (now - sequence.lastUsedAt >= this.idleTtl && !isLive(roomId)) {
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

function newEpoch(): string {
  return randomBytes(6).toString('base64url');
}

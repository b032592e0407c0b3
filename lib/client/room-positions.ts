/** Where a client is in a room's stream: the last `seq` it delivered, in `epoch`. */
export interface RoomPosition {
  seq: number;
  epoch: string;
}

/** What to do with a room frame, by its `seq`/`epoch` against the room's position. */
export const FrameVerdict = {
  /** New: hand it to the app. */
  DELIVER: 0,
  /** Already delivered (a replay overlapping live traffic): drop it. */
  DUPLICATE: 1,
  /** The room's history started over: deliver, and tell the app its room state may be stale. */
  NEW_EPOCH: 2,
} as const;
export type FrameVerdict = (typeof FrameVerdict)[keyof typeof FrameVerdict];

interface Entry {
  /** Undefined until known (a server that does not report it on `room_joined`). */
  seq: number | undefined;
  epoch: string | undefined;
}

/**
 * The rooms this client is in and its position in each: what a reconnect re-joins, what
 * `resume` asks the server to replay from, and what makes delivery exactly-once — a frame at
 * or below the position in the same epoch has been delivered already and is dropped.
 * Positions are updated in place: no allocation per delivered frame.
 */
export class RoomPositions {
  private readonly rooms = new Map<string, Entry>();

  has(roomId: string): boolean {
    return this.rooms.has(roomId);
  }

  get size(): number {
    return this.rooms.size;
  }

  roomIds(): string[] {
    return [...this.rooms.keys()];
  }

  /** The room's position, or undefined when the room or its position is unknown. */
  position(roomId: string): RoomPosition | undefined {
    const entry = this.rooms.get(roomId);
    return entry?.seq === undefined || entry.epoch === undefined ? undefined : { seq: entry.seq, epoch: entry.epoch };
  }

  /**
   * Sets a room's position (joined, or told by the server where the room is now). `seq` is the
   * last one sent in the room, so the next frame to deliver is `seq + 1`.
   */
  set(roomId: string, seq: number | undefined, epoch: string | undefined): void {
    const known = seq !== undefined && epoch !== undefined;
    const entry = this.rooms.get(roomId);
    if (entry) {
      entry.seq = known ? seq : undefined;
      entry.epoch = known ? epoch : undefined;
    } else this.rooms.set(roomId, { seq: known ? seq : undefined, epoch: known ? epoch : undefined });
  }

  /**
   * A `room_joined` for the room: tracks it from there when it is new. For a room already
   * tracked it never moves a known position forward in the same epoch — the server may answer
   * a join (sent while the room's replay is still on its way) with the room's latest `seq`, and
   * the replayed frames below it are still to be delivered — nor forgets a known position. Only
   * a different epoch replaces it: the room's history started over.
   */
  joined(roomId: string, seq: number | undefined, epoch: string | undefined): void {
    const entry = this.rooms.get(roomId);
    if (!entry) return this.set(roomId, seq, epoch);
    if (seq === undefined || epoch === undefined) return;
    if (entry.seq === undefined || entry.epoch === undefined || entry.epoch !== epoch) {
      entry.seq = seq;
      entry.epoch = epoch;
    }
  }

  delete(roomId: string): void {
    this.rooms.delete(roomId);
  }

  clear(): void {
    this.rooms.clear();
  }

  /** Judges a room frame and advances the position past it when it is delivered. */
  accept(roomId: string, seq: number, epoch: string): FrameVerdict {
    const entry = this.rooms.get(roomId);
    // Not a room the client is in (a frame that crossed its leave_room, e.g. the end of a
    // replay): delivered, but not tracked — that would put the client back in the room on the
    // next reconnect.
    if (!entry) return FrameVerdict.DELIVER;
    if (entry.seq === undefined || entry.epoch === undefined) {
      entry.seq = seq;
      entry.epoch = epoch;
      return FrameVerdict.DELIVER;
    }
    if (epoch !== entry.epoch) {
      entry.seq = seq;
      entry.epoch = epoch;
      return FrameVerdict.NEW_EPOCH;
    }
    if (seq <= entry.seq) return FrameVerdict.DUPLICATE;
    entry.seq = seq;
    return FrameVerdict.DELIVER;
  }

  /** `resume`'s `rooms` argument: every room with a known position. */
  resumable(): Record<string, RoomPosition> {
    const rooms: Record<string, RoomPosition> = {};
    for (const [roomId, entry] of this.rooms) {
      if (entry.seq !== undefined && entry.epoch !== undefined) rooms[roomId] = { seq: entry.seq, epoch: entry.epoch };
    }
    return rooms;
  }

  /** Rooms whose position is unknown: they cannot be resumed, only joined again. */
  unpositioned(): string[] {
    const rooms: string[] = [];
    for (const [roomId, entry] of this.rooms)
      if (entry.seq === undefined || entry.epoch === undefined) rooms.push(roomId);
    return rooms;
  }
}

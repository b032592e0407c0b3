import type { Logger } from '@nestjs/common';
import type { ClusterHistory, RoomFrame, RoomFrameParts, Sequenced } from './cluster.adapter.js';

export type { RoomFrame };

/** A frame this node published and Redis sequenced, kept until its echo comes back. */
export interface OwnFrame extends Sequenced {
  parts: RoomFrameParts;
  except: string | undefined;
  /** The publishing span's context, for the delivery here if the echo (which carries it too) is lost. */
  trace?: string;
}

interface Repair {
  /** The last frame delivered before the gap. */
  from: Sequenced;
  /** Frames that arrived (or were published here) meanwhile, delivered after the read-back. */
  held: RoomFrame[];
  /** `subscribing`: waiting for the room's subscription to be back; `waiting`: for Redis. */
  state: 'subscribing' | 'waiting' | 'running';
  /** After a read that failed while Redis stayed connected: the next try, and the pause before it. */
  retry?: NodeJS.Timeout;
  retryDelay?: number;
}

/** Someone waiting for a frame of a room to be delivered on this node. */
interface DeliveryWaiter extends Sequenced {
  resolve: () => void;
  timer: NodeJS.Timeout;
}

/** Own frames kept per room while their echo is awaited; more means Redis is failing, not load. */
const MAX_UNECHOED_PER_ROOM = 10_000;
/** Frames held per room while a read-back waits for Redis; past it the read-back is given up. */
const MAX_HELD_PER_ROOM = 10_000;
/** Pauses before a failed read-back is tried again while Redis stays connected: doubling, capped. */
const REPAIR_RETRY_FIRST_MS = 250;
const REPAIR_RETRY_MAX_MS = 5_000;

/**
 * Keeps each room's frames on this node gap-free and in `seq` order whatever happens to the
 * subscription, on top of Redis pub/sub, which loses what is published while a subscriber is
 * disconnected:
 *
 * - This node's own frames come back through the subscription like everyone else's (that is what
 *   gives every node one order). Each is kept until its echo arrives; when the echo is lost with
 *   the subscriber connection, it is delivered from here.
 * - A frame whose `seq` skips ahead, or a subscriber connection that came back, means frames went
 *   missing: they are read back from the room's history (the publish script appends to it in
 *   the same step), and the frames arriving meanwhile wait behind them.
 *
 * What cannot be read back (the history was lost with a Redis restart) shows as the new epoch of
 * the next frame, which is what tells clients to reload.
 */
export class RoomFrameOrder {
  /** Per watched room, the last frame delivered here. */
  private readonly delivered = new Map<string, Sequenced>();
  private readonly unechoed = new Map<string, OwnFrame[]>();
  private readonly repairs = new Map<string, Repair>();
  private readonly waiters = new Map<string, DeliveryWaiter[]>();

  constructor(
    private readonly deliver: (roomId: string, frame: RoomFrame) => void,
    private readonly readHistory: (roomId: string, afterSeq: number) => Promise<ClusterHistory | undefined>,
    /** Whether Redis can be read now. */
    private readonly canRead: () => boolean,
    private readonly logger: Logger,
  ) {}

  /** A frame from the subscription. */
  received(roomId: string, frame: RoomFrame): void {
    const repair = this.repairs.get(roomId);
    if (repair !== undefined) return this.hold(roomId, repair, [frame]);
    const seen = this.delivered.get(roomId);
    if (seen !== undefined && seen.epoch === frame.epoch && frame.seq > seen.seq + 1) {
      // Frames went missing on the way here; this node's own among them are in `unechoed`.
      const own = this.takeOwn(roomId, frame.seq);
      this.startRepair(roomId, seen, [...own, frame], 'waiting');
      return;
    }
    this.deliverNow(roomId, frame);
  }

  /** This node published a frame that Redis sequenced (`subscribed`: whether its echo can come). */
  published(roomId: string, own: OwnFrame, subscribed: boolean): void {
    if (this.alreadyDelivered(roomId, own.seq, own.epoch)) return;
    let pending = this.unechoed.get(roomId);
    if (pending === undefined) this.unechoed.set(roomId, (pending = []));
    if (pending.length >= MAX_UNECHOED_PER_ROOM) pending.shift();
    pending.push(own);
    if (!subscribed) this.echoesLost();
  }

  /**
   * The subscriber connection closed, or Redis failed a publish: the echoes still awaited will
   * not come. Each own frame is delivered here if it follows on from what was delivered; after a
   * gap, the room is read back first.
   */
  echoesLost(): void {
    for (const roomId of [...this.unechoed.keys()]) {
      const own = this.takeOwn(roomId);
      const repair = this.repairs.get(roomId);
      if (repair !== undefined) {
        this.hold(roomId, repair, own);
        continue;
      }
      for (let i = 0; i < own.length; i++) {
        const seen = this.delivered.get(roomId);
        if (seen !== undefined && seen.epoch === own[i].epoch && own[i].seq > seen.seq + 1) {
          this.startRepair(roomId, seen, own.slice(i), 'waiting');
          break;
        }
        this.deliverNow(roomId, own[i]);
      }
    }
  }

  /**
   * The subscriber connection is back: every room that had delivered something is read back
   * from its history, once `resubscribe` confirms the room's subscription (from then on, what
   * is published reaches this node, so the read leaves no hole behind it).
   */
  async subscriberBack(resubscribe: (roomId: string) => Promise<void>): Promise<void> {
    const rooms = [...this.delivered].filter(([roomId]) => !this.repairs.has(roomId));
    for (const [roomId, seen] of rooms) this.startRepair(roomId, seen, [], 'subscribing');
    await Promise.all(rooms.map(([roomId]) => resubscribe(roomId).catch(() => undefined)));
    for (const [roomId] of rooms) {
      const repair = this.repairs.get(roomId);
      if (repair?.state === 'subscribing') repair.state = 'waiting';
    }
    this.runRepairs();
  }

  /** Starts the read-backs that wait for Redis (called when it is reachable again). */
  runRepairs(): void {
    if (!this.canRead()) return;
    for (const [roomId, repair] of this.repairs) {
      if (repair.state !== 'waiting') continue;
      // Started now (Redis came back, or another room's read-back began): its scheduled try is moot.
      clearTimeout(repair.retry);
      repair.retry = undefined;
      repair.state = 'running';
      void this.repair(roomId, repair);
    }
  }

  /**
   * Resolves once the room's frame `seq` of `epoch` (one this node published) has been written
   * to the members here, or a later one has, or the room was forgotten; gives up after
   * `timeout` ms (its echo is held behind a read-back that waits for Redis). This is what lets a
   * connection's next message come after the broadcast its previous one caused (PROTOCOL.md,
   * "Ordering").
   */
  whenDelivered(roomId: string, own: Sequenced, timeout: number): Promise<void> {
    if (this.alreadyDelivered(roomId, own.seq, own.epoch)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: DeliveryWaiter = {
        seq: own.seq,
        epoch: own.epoch,
        resolve,
        timer: setTimeout(() => this.release(roomId, waiter), timeout),
      };
      let waiting = this.waiters.get(roomId);
      if (waiting === undefined) this.waiters.set(roomId, (waiting = []));
      waiting.push(waiter);
    });
  }

  /** The node left the room: nothing of it is kept. */
  forget(roomId: string): void {
    this.delivered.delete(roomId);
    this.unechoed.delete(roomId);
    this.dropRepair(roomId);
    this.releaseAll(roomId);
  }

  clear(): void {
    this.delivered.clear();
    this.unechoed.clear();
    for (const repair of this.repairs.values()) clearTimeout(repair.retry);
    this.repairs.clear();
    for (const roomId of [...this.waiters.keys()]) this.releaseAll(roomId);
  }

  /** Waiters still unresolved (for leak checks). */
  get waiterCount(): number {
    let count = 0;
    for (const waiting of this.waiters.values()) count += waiting.length;
    return count;
  }

  private release(roomId: string, waiter: DeliveryWaiter): void {
    clearTimeout(waiter.timer);
    const waiting = this.waiters.get(roomId);
    const index = waiting?.indexOf(waiter) ?? -1;
    if (index !== -1) waiting!.splice(index, 1);
    if (waiting?.length === 0) this.waiters.delete(roomId);
    waiter.resolve();
  }

  private releaseAll(roomId: string): void {
    const waiting = this.waiters.get(roomId);
    if (waiting === undefined) return;
    this.waiters.delete(roomId);
    for (const waiter of waiting) {
      clearTimeout(waiter.timer);
      waiter.resolve();
    }
  }

  /** Resolves the waiters that the frame just written satisfies (itself, or one after theirs). */
  private wake(roomId: string, written: Sequenced): void {
    const waiting = this.waiters.get(roomId);
    if (waiting === undefined) return;
    for (let i = waiting.length - 1; i >= 0; i--) {
      const waiter = waiting[i];
      // A frame of another epoch: the awaited one can no longer come in its place.
      if (waiter.epoch !== written.epoch || waiter.seq <= written.seq) {
        waiting.splice(i, 1);
        clearTimeout(waiter.timer);
        waiter.resolve();
      }
    }
    if (waiting.length === 0) this.waiters.delete(roomId);
  }

  /** Own frames awaiting their echo, and rooms being read back (for leak checks). */
  get unechoedCount(): number {
    let count = 0;
    for (const frames of this.unechoed.values()) count += frames.length;
    return count;
  }

  get repairCount(): number {
    return this.repairs.size;
  }

  private async repair(roomId: string, repair: Repair): Promise<void> {
    let history: ClusterHistory | undefined;
    try {
      history = await this.readHistory(roomId, repair.from.seq);
    } catch {
      history = undefined;
    }
    if (this.repairs.get(roomId) !== repair) return;
    if (history === undefined) {
      // Redis is out of reach: tried again when it is back (its connection's 'ready').
      repair.state = 'waiting';
      // Or it answered with an error, or not in time, and is still connected: no 'ready' will
      // come, and the room would stay held back here until MAX_HELD_PER_ROOM frames piled up.
      if (this.canRead()) this.retryLater(roomId, repair);
      return;
    }
    this.dropRepair(roomId);
    let recovered = 0;
    try {
      if (history.epoch === repair.from.epoch) {
        for (const entry of history.entries) {
          if (this.alreadyDelivered(roomId, entry.seq, repair.from.epoch)) continue;
          const type = (JSON.parse(entry.frame) as { type: string }).type;
          // History keeps frames, not trace contexts: a frame read back makes no delivery span.
          this.deliverNow(roomId, { ...entry, type, except: undefined, epoch: repair.from.epoch, trace: undefined });
          recovered++;
        }
      }
    } finally {
      for (const frame of repair.held) this.deliverNow(roomId, frame);
    }
    if (recovered > 0) this.logger.warn(`recovered ${recovered} frame(s) of room ${roomId} missed by the subscription`);
  }

  private retryLater(roomId: string, repair: Repair): void {
    repair.retryDelay = Math.min((repair.retryDelay ?? REPAIR_RETRY_FIRST_MS / 2) * 2, REPAIR_RETRY_MAX_MS);
    if (repair.retryDelay === REPAIR_RETRY_FIRST_MS)
      this.logger.warn(`reading back room ${roomId} failed; tried again until it succeeds`);
    repair.retry = setTimeout(() => {
      repair.retry = undefined;
      if (this.repairs.get(roomId) === repair) this.runRepairs();
    }, repair.retryDelay);
    repair.retry.unref();
  }

  /** Ends a room's read-back, and its next try if one was scheduled. */
  private dropRepair(roomId: string): void {
    const repair = this.repairs.get(roomId);
    if (repair === undefined) return;
    clearTimeout(repair.retry);
    this.repairs.delete(roomId);
  }

  private startRepair(roomId: string, seen: Sequenced, held: RoomFrame[], state: Repair['state']): void {
    this.repairs.set(roomId, { from: { seq: seen.seq, epoch: seen.epoch }, held, state });
    if (state === 'waiting') this.runRepairs();
  }

  private hold(roomId: string, repair: Repair, frames: RoomFrame[]): void {
    repair.held.push(...frames);
    if (repair.held.length <= MAX_HELD_PER_ROOM) return;
    // Redis has been unreachable for too long to hold the room back any more.
    this.dropRepair(roomId);
    for (const frame of repair.held) this.deliverNow(roomId, frame);
  }

  /**
   * Removes and returns a room's own frames awaiting their echo (those before `beforeSeq` only,
   * when given: later ones still wait for theirs), as room frames.
   */
  private takeOwn(roomId: string, beforeSeq = Number.POSITIVE_INFINITY): RoomFrame[] {
    const pending = this.unechoed.get(roomId) ?? [];
    const count = pending.findIndex((item) => item.seq >= beforeSeq);
    const own = count === -1 ? pending.splice(0) : pending.splice(0, count);
    if (pending.length === 0) this.unechoed.delete(roomId);
    return own.map(toRoomFrame);
  }

  private deliverNow(roomId: string, frame: RoomFrame): void {
    if (this.alreadyDelivered(roomId, frame.seq, frame.epoch)) return;
    // Echoes come back in `seq` order: an own frame still awaited from before this one (or from
    // an epoch that has ended) lost its echo, and goes first, in its place.
    const pending = this.unechoed.get(roomId);
    if (pending !== undefined) {
      while (pending.length > 0 && (pending[0].epoch !== frame.epoch || pending[0].seq <= frame.seq)) {
        const own = pending.shift()!;
        if (own.epoch !== frame.epoch || own.seq !== frame.seq) this.write(roomId, toRoomFrame(own));
      }
      if (pending.length === 0) this.unechoed.delete(roomId);
    }
    this.write(roomId, frame);
  }

  private write(roomId: string, frame: RoomFrame): void {
    if (this.alreadyDelivered(roomId, frame.seq, frame.epoch)) return;
    const seen = this.delivered.get(roomId);
    if (seen === undefined) this.delivered.set(roomId, { seq: frame.seq, epoch: frame.epoch });
    else {
      seen.seq = frame.seq;
      seen.epoch = frame.epoch;
    }
    this.deliver(roomId, frame);
    if (this.waiters.size > 0) this.wake(roomId, frame);
  }

  /** Whether a room frame was already delivered here (an echo after a delivery in its place). */
  private alreadyDelivered(roomId: string, seq: number, epoch: string): boolean {
    const seen = this.delivered.get(roomId);
    return seen !== undefined && seen.epoch === epoch && seen.seq >= seq;
  }
}

/** An own frame as the room frame its echo would have been. */
function toRoomFrame({ seq, epoch, parts, except, trace }: OwnFrame): RoomFrame {
  return {
    frame: parts.prefix + seq + parts.middle + epoch + parts.suffix,
    type: typeOf(parts),
    except,
    seq,
    epoch,
    trace,
  };
}

/** The message type of a frame cut into parts (it opens the prefix: `{"type":"...",`). */
function typeOf(parts: RoomFrameParts): string {
  return JSON.parse(parts.prefix.slice(8, parts.prefix.indexOf(',"room":'))) as string;
}

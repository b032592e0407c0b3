import { type OutboundFrame, prepareFrame } from '../broadcast/outbound-frame.js';
import type { SlowConsumerPolicy } from '../options/room-settings.js';
import type { Room } from '../rooms/room.js';
import type { PresenceUser } from '../protocol/server-frames.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { presenceDiffListJson, presenceResetJson, readPresenceDiff } from '../protocol/presence-diff.js';

/**
 * How a gathered diff reaches a room's members on this node: the rooms layer's `RoomDelivery`
 * (above this layer) answers it, so presence does not import it.
 */
export interface PresenceDelivery {
  deliverToRoom(
    room: Room,
    seq: number,
    epoch: string,
    frame: OutboundFrame,
    policy: SlowConsumerPolicy,
    except: RealtimeConnection | undefined,
  ): number;
}

/** The changes a room gathered since its window opened: per user, its latest one. */
interface PresenceWindow {
  /** user id → arrived (true) or left (false), and its name; a Map keeps the order of the latest changes. */
  readonly changes: Map<string, { joined: boolean; username: string }>;
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * Presence changes of big or busy rooms, gathered over `presenceDiffInterval` and sent as one
 * frame per room and window. A diff per change is one frame per member per arrival — a join storm
 * of N users into a room N²/2 frames; gathered, each member gets one frame per window whatever the
 * number of changes in it, serialized and framed once for the whole room.
 *
 * A window keeps each user's *latest* change only, not the changes cancelling out: a member that
 * read `presence_state` while the window was open may have seen a user who then joined and left,
 * and applying "leave" (as a set operation) puts its list right where dropping the pair would not.
 * A window with more than `presenceDiffMaxUsers` users sends `presence_reset` (counts only), so a
 * storm costs each member a bounded frame per window.
 */
export class PresenceWindows {
  private readonly open = new Map<string, PresenceWindow>();

  constructor(
    private readonly delivery: PresenceDelivery,
    /** The room under that id now (an emptied room is made anew when someone joins again). */
    private readonly roomOf: (roomId: string) => Room | undefined,
  ) {}

  /**
   * A `presence_diff` for the room (from this node through the in-memory adapter, or published
   * in the cluster by any node), for this node's members: at once within the budget, otherwise
   * into the room's window.
   */
  deliver(room: Room, frame: string, except: RealtimeConnection | undefined): void {
    // Presence off here: whatever another node published (a purge announces a dead node's users
    // leaving, a node written back after a loss its users arriving, in any room) reaches no member.
    if (!room.settings.presence) return;
    const cost = except !== undefined && room.members.has(except) ? room.size - 1 : room.size;
    if (this.sendsNow(room, cost)) {
      // Nobody else here (the first member's own arrival): nothing to send.
      if (cost === 0) return;
      this.delivery.deliverToRoom(room, -1, '', prepareFrame(Buffer.from(frame)), room.settings.slowConsumer, except);
      return;
    }
    // Even when the room just emptied here: a room made anew within the window gets the leave.
    const diff = readPresenceDiff(frame);
    if (diff === undefined) return;
    for (const user of diff.joins) this.add(room, true, user.user_id, user.username);
    for (const user of diff.leaves) this.add(room, false, user.user_id, user.username);
  }

  /**
   * Whether a change costing `cost` frame writes (the members it goes to) is sent at once, and if
   * so counts them: while no window is open and the room's changes sent at once within the
   * current `presenceDiffInterval` have cost at most `presenceDiffLimit` writes, this one
   * included. Otherwise the change waits for a window (one already open must keep the order).
   *
   * A budget of writes rather than a member count: in a cluster each node sees only its own
   * members, so a room of 10 000 spread over 20 nodes has 500 here — under any size limit, while
   * every change would still cost the cluster 10 000 frames. Spent per node and room, the budget
   * bounds what a storm costs whatever the layout; a room above the limit gathers every change
   * (one diff would exceed it), a quiet room gets each change at once, as before.
   */
  sendsNow(room: Room, cost: number, now = Date.now()): boolean {
    if (this.open.has(room.id)) return false;
    if (now - room.presenceSince >= room.settings.presenceDiffInterval) {
      room.presenceSince = now;
      room.presenceSpent = 0;
    }
    if (room.presenceSpent + cost > room.settings.presenceDiffLimit) return false;
    room.presenceSpent += cost;
    return true;
  }

  /** Adds a user's change to the room's window, opening one if none is. */
  add(room: Room, joined: boolean, userId: string, username: string): void {
    let window = this.open.get(room.id);
    if (window === undefined) {
      const timer = setTimeout(() => this.flush(room.id), room.settings.presenceDiffInterval);
      // A window must not keep the process alive; what it holds is lost with the node anyway.
      timer.unref();
      this.open.set(room.id, (window = { changes: new Map(), timer }));
    }
    // Deleted first so that the Map's order is that of the latest changes.
    window.changes.delete(userId);
    window.changes.set(userId, { joined, username });
  }

  /** Sends the room's window now (its timer ran out). */
  flush(roomId: string): void {
    const window = this.open.get(roomId);
    if (window === undefined) return;
    this.open.delete(roomId);
    clearTimeout(window.timer);
    const { changes } = window;
    const room = this.roomOf(roomId);
    if (room === undefined || room.size === 0) return;
    const frame =
      changes.size > room.settings.presenceDiffMaxUsers ? resetFrame(room, changes) : diffFrame(room, changes);
    // No member is left out: the ones that joined in the window find themselves listed, which
    // changes nothing for a set.
    this.delivery.deliverToRoom(room, -1, '', prepareFrame(Buffer.from(frame)), room.settings.slowConsumer, undefined);
  }

  /** Rooms with a window open. */
  get size(): number {
    return this.open.size;
  }

  /** Drops every window (the module stops). */
  clear(): void {
    for (const window of this.open.values()) clearTimeout(window.timer);
    this.open.clear();
  }
}

function diffFrame(room: Room, changes: PresenceWindow['changes']): string {
  const joins: PresenceUser[] = [];
  const leaves: PresenceUser[] = [];
  for (const [user_id, { joined, username }] of changes) (joined ? joins : leaves).push({ user_id, username });
  return presenceDiffListJson(room.id, joins, leaves);
}

function resetFrame(room: Room, changes: PresenceWindow['changes']): string {
  let joins = 0;
  for (const change of changes.values()) if (change.joined) joins++;
  return presenceResetJson(room.id, joins, changes.size - joins);
}

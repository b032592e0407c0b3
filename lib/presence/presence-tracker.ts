/** One member of a room's presence: a user, with how many of its connections are in the room. */
export interface PresenceEntry {
  user_id: string;
  username: string;
  connections: number;
}

/** A user's share of a room on this node. */
interface PresenceCount {
  username: string;
  connections: number;
}

/**
 * Who is in which room on this node: per room, user → connections. A user with three tabs in a
 * room is one presence with three connections; it *arrives* with its first connection and
 * *departs* with its last, which is when `presence_diff` is due (on one node; in a cluster the
 * adapter decides, from every node's share).
 *
 * Kept apart from the rooms' membership so that presence can be counted, moved on
 * re-authentication and tested on its own. Empty rooms and users are forgotten at once.
 */
export class PresenceTracker {
  private readonly rooms = new Map<string, Map<string, PresenceCount>>();

  /**
   * Counts one more connection of the user in the room. Returns its connections there now: 1
   * means the user arrived.
   */
  add(roomId: string, userId: string, username: string): number {
    let users = this.rooms.get(roomId);
    if (users === undefined) this.rooms.set(roomId, (users = new Map()));
    const entry = users.get(userId);
    if (entry !== undefined) return ++entry.connections;
    users.set(userId, { username, connections: 1 });
    return 1;
  }

  /**
   * Counts one connection fewer of the user in the room. Returns its connections left there (0:
   * the user departed), or -1 when it had none (nothing changed).
   */
  remove(roomId: string, userId: string): number {
    const users = this.rooms.get(roomId);
    const entry = users?.get(userId);
    if (entry === undefined) return -1;
    if (--entry.connections > 0) return entry.connections;
    users!.delete(userId);
    if (users!.size === 0) this.rooms.delete(roomId);
    return 0;
  }

  /** The user's connections in the room (0 when none). */
  connections(roomId: string, userId: string): number {
    return this.rooms.get(roomId)?.get(userId)?.connections ?? 0;
  }

  /** The name the user is shown under in the room (the one of its first connection there). */
  username(roomId: string, userId: string): string | undefined {
    return this.rooms.get(roomId)?.get(userId)?.username;
  }

  /** The room's presence on this node, one entry per user. */
  state(roomId: string): PresenceEntry[] {
    const users = this.rooms.get(roomId);
    if (users === undefined) return [];
    return [...users].map(([user_id, { username, connections }]) => ({ user_id, username, connections }));
  }

  /** Rooms with at least one user present. */
  get roomCount(): number {
    return this.rooms.size;
  }
}

import type { RealtimeConnection } from '../connections/realtime-connection.js';
import type { ReplayGate } from './replay-gate.js';
import type { ResolvedRoomSettings } from './room-settings.js';

/** One member of a room's presence: a user, with how many of its connections are in the room. */
export interface PresenceEntry {
  user_id: string;
  username: string;
  connections: number;
}

/**
 * A room on this node: its members, per-user connection counts (for presence, where a user with
 * three tabs is one presence) and metadata. Its broadcast sequence lives in the RoomSequencer
 * (one node) or the cluster; the room remembers the position it has delivered up to.
 */
export class Room {
  readonly members = new Set<RealtimeConnection>();
  /** user id → [username, connections in this room]. */
  readonly users = new Map<string, { username: string; connections: number }>();
  metadata: Record<string, unknown> = {};
  /** Position of the last sequenced frame delivered here (`seq` -1: none since the room appeared). */
  seq = -1;
  epoch = '';
  /** Members between their join or resume and the end of its replay (see ReplayGate). */
  gates: Map<RealtimeConnection, ReplayGate> | undefined = undefined;

  constructor(
    readonly id: string,
    readonly settings: ResolvedRoomSettings,
  ) {}

  get size(): number {
    return this.members.size;
  }

  /** Adds a member; returns true when it is the first connection of its user here. */
  add(connection: RealtimeConnection): boolean {
    this.members.add(connection);
    const userId = connection.userId;
    if (userId === undefined) return false;
    const entry = this.users.get(userId);
    if (entry) {
      entry.connections++;
      return false;
    }
    this.users.set(userId, { username: connection.user?.username ?? userId, connections: 1 });
    return true;
  }

  /**
   * Removes a member; returns true when it was the last connection of its user here. `userId` is
   * the user the connection was counted under (it may have re-authenticated since).
   */
  remove(connection: RealtimeConnection, userId: string | undefined = connection.userId): boolean {
    if (!this.members.delete(connection)) return false;
    if (this.gates?.delete(connection) && this.gates.size === 0) this.gates = undefined;
    if (userId === undefined) return false;
    const entry = this.users.get(userId);
    if (!entry) return false;
    if (--entry.connections > 0) return false;
    this.users.delete(userId);
    return true;
  }

  presence(): PresenceEntry[] {
    return [...this.users].map(([user_id, { username, connections }]) => ({ user_id, username, connections }));
  }
}

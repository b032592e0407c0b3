import { Injectable } from '@nestjs/common';
import { ClusterAdapter } from '../cluster/cluster.adapter.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import type { Room } from '../rooms/room.js';
import { presenceDiffJson } from '../protocol/presence-diff.js';
import { type PresenceEntry, PresenceTracker } from './presence-tracker.js';

/**
 * Presence of RoomManager's rooms: counts members per user (a PresenceTracker) and hands every
 * change of this node's share to the cluster adapter with the `presence_diff` that announces a
 * user's arrival or departure here. The adapter decides whether it is one for the room: a shared
 * backend keeps every node's share and publishes the diff only when the user arrived or left
 * cluster-wide; the in-memory adapter (one node) delivers it to the members here. The diff is
 * built once, here, for both, whatever the room's size: how each node's members get it (at once,
 * or gathered with others into one frame per window) is decided where it is delivered
 * (PresenceWindows, used by the rooms layer's RoomBroadcaster).
 */
@Injectable()
export class RoomPresence {
  private readonly tracker = new PresenceTracker();

  constructor(private readonly cluster: ClusterAdapter) {}

  /** The room's presence on this node. */
  state(roomId: string): PresenceEntry[] {
    return this.tracker.state(roomId);
  }

  /** A member of the room (just added, or now acting as another user) counts for its user. */
  arrived(room: Room, connection: RealtimeConnection): void {
    const userId = connection.userId;
    if (userId === undefined) return;
    const username = connection.user?.username ?? userId;
    const connections = this.tracker.add(room.id, userId, username);
    const diff =
      connections === 1 && room.settings.presence ? presenceDiffJson(room.id, 'joins', userId, username) : undefined;
    // The arriving connection knows it joined: it gets `presence_state` if it asks.
    this.cluster.presenceChanged(room.id, userId, username, connections, diff, connection.id);
  }

  /**
   * A member of a draining node went (1012): it resumes on another node, so this node forgets it
   * without a presence change — neither this node's share nor a `presence_diff` (see
   * ClusterAdapter.handOver).
   */
  movedAway(room: Room, userId: string | undefined): void {
    if (userId !== undefined) this.tracker.remove(room.id, userId);
  }

  /** A member of the room no longer counts for `userId` (it left, or acts as another user now). */
  departed(room: Room, userId: string | undefined): void {
    if (userId === undefined) return;
    const username = this.tracker.username(room.id, userId) ?? userId;
    const connections = this.tracker.remove(room.id, userId);
    if (connections < 0) return;
    const diff =
      connections === 0 && room.settings.presence ? presenceDiffJson(room.id, 'leaves', userId, username) : undefined;
    this.cluster.presenceChanged(room.id, userId, username, connections, diff);
  }
}

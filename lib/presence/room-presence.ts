import { Injectable } from '@nestjs/common';
import { prepareFrame } from '../broadcast/outbound-frame.js';
import { ClusterAdapter } from '../cluster/cluster.adapter.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { RoomDelivery } from '../rooms/room-delivery.js';
import type { Room } from '../rooms/room.js';
import { presenceDiffJson } from '../protocol/presence-diff.js';
import { type PresenceEntry, PresenceTracker } from './presence-tracker.js';

/**
 * Presence of RoomManager's rooms: counts members per user (a PresenceTracker) and announces a
 * user's arrival or departure with `presence_diff` — to this node's members on one node, through
 * the cluster adapter otherwise, which keeps every node's share and publishes the diff only when
 * the user arrived or left cluster-wide. The diff is built once, here, for both.
 */
@Injectable()
export class RoomPresence {
  private readonly tracker = new PresenceTracker();

  constructor(
    private readonly delivery: RoomDelivery,
    private readonly cluster: ClusterAdapter,
  ) {}

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
      connections === 1 && this.sendsDiffs(room) ? presenceDiffJson(room.id, 'joins', userId, username) : undefined;
    // The arriving connection knows it joined: it gets `presence_state` if it asks.
    this.changed(room, userId, username, connections, diff, connection);
  }

  /** A member of the room no longer counts for `userId` (it left, or acts as another user now). */
  departed(room: Room, userId: string | undefined): void {
    if (userId === undefined) return;
    const username = this.tracker.username(room.id, userId) ?? userId;
    const connections = this.tracker.remove(room.id, userId);
    if (connections < 0) return;
    const diff =
      connections === 0 && this.sendsDiffs(room) ? presenceDiffJson(room.id, 'leaves', userId, username) : undefined;
    this.changed(room, userId, username, connections, diff);
  }

  /** Diffs are off for the room, or above its limit, where every arrival would be a frame to everyone. */
  private sendsDiffs(room: Room): boolean {
    return room.settings.presence && room.size <= room.settings.presenceDiffLimit;
  }

  private changed(
    room: Room,
    userId: string,
    username: string,
    connections: number,
    diff: string | undefined,
    except?: RealtimeConnection,
  ): void {
    if (this.cluster.status !== 'off') {
      this.cluster.presenceChanged(room.id, userId, username, connections, diff, except?.id);
    } else if (diff !== undefined && room.size > 0) {
      this.delivery.deliverToRoom(room, -1, '', prepareFrame(Buffer.from(diff)), room.settings.slowConsumer, except);
    }
  }
}

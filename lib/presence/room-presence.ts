import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { prepareFrame } from '../broadcast/outbound-frame.js';
import { ClusterAdapter } from '../cluster/cluster.adapter.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { RoomDelivery } from '../rooms/room-delivery.js';
import type { Room } from '../rooms/room.js';
import { presenceDiffJson, readPresenceDiff } from '../protocol/presence-diff.js';
import { type PresenceEntry, PresenceTracker } from './presence-tracker.js';
import { PresenceWindows } from './presence-windows.js';

/**
 * Presence of RoomManager's rooms: counts members per user (a PresenceTracker) and announces a
 * user's arrival or departure with `presence_diff` — to this node's members on one node, through
 * the cluster adapter otherwise, which keeps every node's share and publishes the diff only when
 * the user arrived or left cluster-wide. The diff is built once, here, for both.
 *
 * Each node decides how its own members get a change: at once while the room's diffs within the
 * current `presenceDiffInterval` have cost at most `presenceDiffLimit` frames here, gathered into
 * one frame per window beyond that (PresenceWindows: so always in a room above the limit). In a cluster every cluster-wide change is published (one publication per
 * change, whatever the room's size) and each node gathers what it receives for its members.
 */
@Injectable()
export class RoomPresence implements OnModuleDestroy {
  private readonly tracker = new PresenceTracker();
  private readonly windows: PresenceWindows;

  constructor(
    private readonly delivery: RoomDelivery,
    private readonly cluster: ClusterAdapter,
  ) {
    this.windows = new PresenceWindows(delivery);
  }

  onModuleDestroy(): void {
    this.windows.clear();
  }

  /** The room's presence on this node. */
  state(roomId: string): PresenceEntry[] {
    return this.tracker.state(roomId);
  }

  /** A member of the room (just added, or now acting as another user) counts for its user. */
  arrived(room: Room, connection: RealtimeConnection): void {
    const userId = connection.userId;
    if (userId === undefined) return;
    this.windows.rebind(room);
    const username = connection.user?.username ?? userId;
    const connections = this.tracker.add(room.id, userId, username);
    // The arriving connection knows it joined: it gets `presence_state` if it asks.
    this.changed(room, userId, username, connections, connections === 1, connection);
  }

  /** A member of the room no longer counts for `userId` (it left, or acts as another user now). */
  departed(room: Room, userId: string | undefined): void {
    if (userId === undefined) return;
    const username = this.tracker.username(room.id, userId) ?? userId;
    const connections = this.tracker.remove(room.id, userId);
    if (connections < 0) return;
    this.changed(room, userId, username, connections, connections === 0);
  }

  /** A `presence_diff` published in the cluster (by any node, this one included), for this node's members. */
  deliverFromCluster(room: Room, frame: string, except: RealtimeConnection | undefined): void {
    const cost = except !== undefined && room.members.has(except) ? room.size - 1 : room.size;
    if (this.windows.sendsNow(room, cost)) {
      if (cost === 0) return;
      this.delivery.deliverToRoom(room, -1, '', prepareFrame(Buffer.from(frame)), room.settings.slowConsumer, except);
      return;
    }
    const diff = readPresenceDiff(frame);
    if (diff === undefined) return;
    for (const user of diff.joins) this.windows.add(room, true, user.user_id, user.username);
    for (const user of diff.leaves) this.windows.add(room, false, user.user_id, user.username);
  }

  /** Rooms whose presence changes are being gathered (their window is open). */
  get gathering(): number {
    return this.windows.size;
  }

  /**
   * This node's count of the user in the room changed to `connections`; `announced`: the user
   * arrived (first connection) or left (last one) here.
   */
  private changed(
    room: Room,
    userId: string,
    username: string,
    connections: number,
    announced: boolean,
    except?: RealtimeConnection,
  ): void {
    const announce = announced && room.settings.presence;
    const joined = connections > 0;
    if (this.cluster.status !== 'off') {
      const diff = announce ? presenceDiffJson(room.id, joined ? 'joins' : 'leaves', userId, username) : undefined;
      this.cluster.presenceChanged(room.id, userId, username, connections, diff, except?.id);
      return;
    }
    if (!announce) return;
    const cost = except !== undefined ? room.size - 1 : room.size;
    if (!this.windows.sendsNow(room, cost)) {
      // Even when the room just emptied: a room made anew within the window gets the leave.
      this.windows.add(room, joined, userId, username);
    } else if (cost > 0) {
      const diff = presenceDiffJson(room.id, joined ? 'joins' : 'leaves', userId, username);
      this.delivery.deliverToRoom(room, -1, '', prepareFrame(Buffer.from(diff)), room.settings.slowConsumer, except);
    }
  }
}

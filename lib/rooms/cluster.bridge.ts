import { Inject, Injectable, type BeforeApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ConnectionManager } from '../connections/connection.manager.js';
import { RealtimeStats } from '../stats/realtime-stats.js';
import { RoomHistoryService } from '../history/room-history.service.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { SessionManager } from '../sessions/session.manager.js';
import { ClusterAdapter, type ClusterHost, type RoomFrame } from '../cluster/cluster.adapter.js';
import { RealtimeTracing } from '../tracing/realtime-tracing.js';
import { RoomBroadcaster } from './room-broadcaster.js';

/**
 * The rooms side of the cluster: the cluster layer knows no rooms, sockets or handlers, and hands
 * what it receives to a {@link ClusterHost} — this. Connects the configured
 * {@link ClusterAdapter} to this node: what the cluster delivers here (a room frame as one
 * `RoomFrame` object, whether another node published it or this node numbered it alone through
 * history's sequencer, which it hands the adapter too), and users arriving on or leaving this
 * node are announced to the cluster. The adapter starts with the module and stops after the
 * connections were drained.
 */
@Injectable()
export class ClusterBridge implements ClusterHost, OnModuleInit, BeforeApplicationShutdown {
  readonly nodeId: string;
  /** The adapter counts what crosses the cluster in the node's stats (`websocket_cluster_*`). */
  readonly counters: RealtimeStats;

  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) options: ResolvedRealtimeOptions,
    private readonly adapter: ClusterAdapter,
    private readonly broadcaster: RoomBroadcaster,
    private readonly history: RoomHistoryService,
    private readonly sessions: SessionManager,
    private readonly connections: ConnectionManager,
    stats: RealtimeStats,
    private readonly tracing: RealtimeTracing,
  ) {
    this.nodeId = options.nodeId;
    this.counters = stats;
  }

  async onModuleInit(): Promise<void> {
    this.adapter.attach(this, this.history);
    this.connections.onUserPresence = (userId, present) =>
      present ? this.adapter.userArrived(userId) : this.adapter.userDeparted(userId);
    await this.adapter.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.connections.onUserPresence = undefined;
    await this.adapter.stop();
  }

  deliverRoom(roomId: string, frame: RoomFrame): number {
    // A frame published under a span: its delivery here is that span's child (CONSUMER).
    const span =
      frame.trace === undefined
        ? undefined
        : this.tracing.delivery(roomId, frame.type, frame.seq, frame.epoch, frame.trace);
    const delivered = this.broadcaster.deliverClusterFrame(roomId, frame);
    span?.delivered(delivered);
    return delivered;
  }

  deliverUser(userId: string, frame: string): void {
    this.broadcaster.deliverClusterUserFrame(userId, frame);
  }

  deliverAll(frame: string): void {
    this.broadcaster.deliverClusterAllFrame(frame);
  }

  disconnectUser(userId: string, reason: string): void {
    this.sessions.disconnectUserLocally(userId, reason);
  }

  deliverPresence(roomId: string, frame: string, exceptConnectionId: string | undefined): void {
    this.broadcaster.deliverClusterPresence(roomId, frame, exceptConnectionId);
  }
}

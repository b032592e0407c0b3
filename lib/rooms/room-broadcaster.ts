import { Inject, Injectable } from '@nestjs/common';
import { BroadcastEngine } from '../broadcast/broadcast.engine.js';
import { type OutboundFrame, prepareFrame } from '../broadcast/outbound-frame.js';
import { ClusterAdapter, type RoomFrame, roomFrameParts } from '../cluster/cluster.adapter.js';
import { ConnectionManager } from '../connections/connection.manager.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { RealtimeStats } from '../stats/realtime-stats.js';
import { RoomHistoryService } from '../history/room-history.service.js';
import type { RoomSequencer } from '../history/room-sequencer.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import type { Envelope } from '../protocol/envelope.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { isoNow } from '../utils/clock.js';
import { assertValidRoomId } from './room-id.js';
import { RoomPresence } from '../presence/room-presence.js';
import { RoomDelivery } from './room-delivery.js';
import { RoomRegistry } from './room-registry.js';
import type { ResolvedRoomSettings, SlowConsumerPolicy } from '../options/room-settings.js';
import type { RealtimeSpan } from '../tracing/realtime-span.js';
import { RealtimeTracing } from '../tracing/realtime-tracing.js';

/** Options of one broadcast. */
export interface BroadcastOptions {
  /** A connection (or connection id) that does not get this broadcast, e.g. its sender. */
  except?: RealtimeConnection | string;
  /** Overrides the room's slow-consumer policy for this message. */
  slowConsumer?: SlowConsumerPolicy;
  /** Conflation key (`conflate` policy): a newer frame with the same key replaces an unsent one. @default the type */
  conflationKey?: string;
}

/** What a room broadcast produced. */
export interface BroadcastResult {
  room_id: string;
  /** The room's sequence number of this broadcast. */
  seq: number;
  epoch: string;
  /** Connections on this node the frame was written to. */
  delivered: number;
}

/**
 * The sending side of RoomManager: room broadcasts (through the cluster when there is one, on
 * this node alone otherwise), sends to a user or to everyone, and the frames the cluster hands
 * back to this node. It reads the RoomRegistry and numbers and records through history, and
 * changes no membership: it only numbers, records and delivers.
 */
@Injectable()
export class RoomBroadcaster {
  /** Per room, the latest broadcast still on its way through the cluster (see publishToCluster). */
  private readonly publishing = new Map<string, Promise<BroadcastResult>>();
  /** History's sequencer, held directly: it numbers every local broadcast. */
  private readonly sequencer: RoomSequencer;

  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly rooms: RoomRegistry,
    history: RoomHistoryService,
    private readonly delivery: RoomDelivery,
    private readonly engine: BroadcastEngine,
    private readonly connections: ConnectionManager,
    private readonly statsCounters: RealtimeStats,
    private readonly cluster: ClusterAdapter,
    private readonly presence: RoomPresence,
    private readonly tracing: RealtimeTracing,
  ) {
    this.sequencer = history.sequencer;
  }

  /** This node's connection with that id, if any (an `except` given by id, here or by another node). */
  connectionOf(connectionId: string | undefined): RealtimeConnection | undefined {
    return connectionId === undefined ? undefined : this.connections.get(connectionId);
  }

  /** The settings of a room, live or not. */
  settingsOf(roomId: string): ResolvedRoomSettings {
    return this.rooms.get(roomId)?.settings ?? this.options.rooms(roomId);
  }

  /**
   * Broadcasts `{ type, room, seq, epoch, data }` to every member of the room on this node,
   * serialized once.
   */
  // `async` so that every failure is a rejection; it runs synchronously up to the cluster call,
  // so without a cluster the frame is delivered before this returns.
  async broadcast(roomId: string, type: string, data: unknown, options: BroadcastOptions): Promise<BroadcastResult> {
    assertValidRoomId(roomId);
    const except = typeof options.except === 'string' ? this.connectionOf(options.except) : options.except;
    const span = this.tracing.publish(roomId, type);
    if (span === undefined) return this.route(roomId, type, data, except, options, undefined);
    // The broadcast's span is active meanwhile: the app's Redis instrumentation, if any, nests
    // the publish command under it.
    try {
      const result = await span.run(() => this.route(roomId, type, data, except, options, span));
      span.published(result.seq, result.epoch, result.delivered);
      return result;
    } catch (error) {
      span.failed(error);
      throw error;
    }
  }

  private route(
    roomId: string,
    type: string,
    data: unknown,
    except: RealtimeConnection | undefined,
    options: BroadcastOptions,
    span: RealtimeSpan | undefined,
  ): Promise<BroadcastResult> | BroadcastResult {
    // Through the cluster, the span's context travels with the publication to every node.
    if (this.cluster.status !== 'off') {
      return this.broadcastThroughCluster(roomId, type, data, except, options, span?.header());
    }
    return this.broadcastLocally(roomId, type, data, except, options);
  }

  /**
   * Cluster: the sequence comes from the cluster and every node, this one included, delivers
   * the frame from the cluster's stream, in `seq` order. If the cluster cannot take it (Redis
   * down), this node delivers alone, numbered by its local sequencer under its own epoch.
   */
  private broadcastThroughCluster(
    roomId: string,
    type: string,
    data: unknown,
    except: RealtimeConnection | undefined,
    options: BroadcastOptions,
    trace: string | undefined,
  ): Promise<BroadcastResult> {
    const previous = this.publishing.get(roomId);
    const current = this.publishToCluster(roomId, type, data, except, options, previous, trace);
    this.publishing.set(roomId, current);
    return current.finally(() => {
      if (this.publishing.get(roomId) === current) this.publishing.delete(roomId);
    });
  }

  private async publishToCluster(
    roomId: string,
    type: string,
    data: unknown,
    except: RealtimeConnection | undefined,
    options: BroadcastOptions,
    previous: Promise<unknown> | undefined,
    trace: string | undefined,
  ): Promise<BroadcastResult> {
    const parts = roomFrameParts(roomId, type, data, isoNow());
    this.statsCounters.clusterPublished++;
    const settings = this.settingsOf(roomId);
    const history = { size: settings.historySize, ttl: settings.historyTtl, maxBytes: settings.historyMaxBytes };
    const sequenced = await this.cluster.publishRoom(roomId, parts, except?.id, history, trace);
    if (sequenced) {
      return {
        room_id: roomId,
        seq: sequenced.seq,
        epoch: sequenced.epoch,
        delivered: this.rooms.get(roomId)?.size ?? 0,
      };
    }
    // Delivered here alone. An earlier broadcast to the room may still be on its way to failing
    // (a command in flight when Redis went away): it goes first, so local members keep the
    // order in which this node broadcast.
    if (previous !== undefined) await previous.catch(() => undefined);
    return this.broadcastLocally(roomId, type, data, except, options);
  }

  private broadcastLocally(
    roomId: string,
    type: string,
    data: unknown,
    except: RealtimeConnection | undefined,
    options: BroadcastOptions,
  ): BroadcastResult {
    const now = Date.now();
    const room = this.rooms.get(roomId);
    const settings = this.settingsOf(roomId);
    // Decided before numbering: whether the room had members is what counts, not this broadcast.
    const keep = this.sequencer.keepsHistory(roomId, settings, room !== undefined, now);
    const sequence = this.sequencer.next(roomId, now);
    const { seq, epoch } = sequence;
    // A room nobody is in and nobody can resume: numbered (seq stays gap-free), not serialized.
    if (!room && !keep) return { room_id: roomId, seq, epoch, delivered: 0 };
    const frame = this.engine.serialize({ type, room: roomId, seq, epoch, data } as Envelope);
    if (keep) this.sequencer.record(sequence, frame, settings);
    if (!room) return { room_id: roomId, seq, epoch, delivered: 0 };
    const delivered = this.delivery.deliverToRoom(
      room,
      seq,
      epoch,
      frame,
      options.slowConsumer ?? room.settings.slowConsumer,
      except,
      options.conflationKey === undefined ? `${roomId}\u0000${type}` : `${roomId}\u0000${options.conflationKey}`,
    );
    return { room_id: roomId, seq, epoch, delivered };
  }

  /** A room frame from the cluster, for this node's members. */
  deliverClusterFrame(roomId: string, { frame, type, except, seq, epoch }: RoomFrame): number {
    const room = this.rooms.get(roomId);
    if (!room) return 0;
    return this.delivery.deliverToRoom(
      room,
      seq,
      epoch,
      prepareFrame(Buffer.from(frame)),
      room.settings.slowConsumer,
      this.connectionOf(except),
      `${roomId}\u0000${type}`,
    );
  }

  /** A presence_diff from the cluster, for this node's members. */
  deliverClusterPresence(roomId: string, frame: string, exceptConnectionId: string | undefined): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    this.presence.deliverFromCluster(room, frame, this.connectionOf(exceptConnectionId));
  }

  /** Sends `{ type, data }` to every connection of a user, on every node; returns how many on this one. */
  sendToUser(userId: string, type: string, data: unknown): number {
    const frame = this.engine.serialize({ type, data });
    if (this.cluster.status !== 'off') {
      this.statsCounters.clusterPublished++;
      this.cluster.publishUser(userId, frame.payload.toString());
    }
    const targets = this.connections.getByUser(userId);
    if (targets.length === 0) return 0;
    return this.engine.deliver(targets, frame, 'disconnect');
  }

  /** Whether a user has a connection on any node. */
  async isUserOnline(userId: string): Promise<boolean> {
    return this.connections.countByUser(userId) > 0 || (await this.cluster.isUserOnlineElsewhere(userId));
  }

  /** A user frame from the cluster. */
  deliverClusterUserFrame(userId: string, frame: string): number {
    const targets = this.connections.getByUser(userId);
    return targets.length === 0 ? 0 : this.engine.deliver(targets, prepareFrame(Buffer.from(frame)), 'disconnect');
  }

  /** Sends `{ type, data }` to every connection on every node; returns how many on this one. */
  sendToAll(type: string, data: unknown): number {
    const frame = this.engine.serialize({ type, data });
    if (this.cluster.status !== 'off') {
      this.statsCounters.clusterPublished++;
      this.cluster.publishAll(frame.payload.toString());
    }
    return this.deliverToAll(frame);
  }

  /** An announcement from the cluster. */
  deliverClusterAllFrame(frame: string): number {
    return this.deliverToAll(prepareFrame(Buffer.from(frame)));
  }

  private deliverToAll(frame: OutboundFrame): number {
    if (this.connections.count === 0) return 0;
    return this.engine.deliver(this.connections.connections(), frame, 'disconnect');
  }
}

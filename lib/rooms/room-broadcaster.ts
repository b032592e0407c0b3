import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { BroadcastEngine } from '../broadcast/broadcast.engine.js';
import { type OutboundFrame, prepareFrame } from '../broadcast/outbound-frame.js';
import { ClusterAdapter, type RoomFrame, roomFrameParts } from '../cluster/cluster.adapter.js';
import { ConnectionManager } from '../connections/connection.manager.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { isoNow } from '../utils/clock.js';
import { assertValidRoomId } from './room-id.js';
import { PresenceWindows } from '../presence/presence-windows.js';
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
 * The sending side of RoomManager: room broadcasts, sends to a user or to everyone, and the
 * frames the cluster hands back to this node. Every room broadcast takes one way, through the
 * cluster adapter, which numbers it (cluster-wide, or on this node alone through history's
 * sequencer) and hands it back to `deliverClusterFrame` for this node's members. It reads the
 * RoomRegistry and changes no membership.
 */
@Injectable()
export class RoomBroadcaster implements OnModuleDestroy {
  /** `presence_diff`s of big or busy rooms, gathered into one frame per room and window. */
  private readonly presenceWindows: PresenceWindows;

  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly rooms: RoomRegistry,
    private readonly delivery: RoomDelivery,
    private readonly engine: BroadcastEngine,
    private readonly connections: ConnectionManager,
    private readonly cluster: ClusterAdapter,
    private readonly tracing: RealtimeTracing,
  ) {
    this.presenceWindows = new PresenceWindows(delivery, (roomId) => rooms.get(roomId));
  }

  onModuleDestroy(): void {
    this.presenceWindows.clear();
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
  // so with one node (the in-memory adapter) the frame is delivered before this returns.
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

  private async route(
    roomId: string,
    type: string,
    data: unknown,
    except: RealtimeConnection | undefined,
    options: BroadcastOptions,
    span: RealtimeSpan | undefined,
  ): Promise<BroadcastResult> {
    const settings = this.settingsOf(roomId);
    const sent = await this.cluster.broadcastRoom(roomId, {
      parts: roomFrameParts(roomId, type, data, isoNow()),
      type,
      except: except?.id,
      history: { size: settings.historySize, ttl: settings.historyTtl, maxBytes: settings.historyMaxBytes },
      slowConsumer: options.slowConsumer,
      conflationKey: options.conflationKey,
      // The span's context travels with the publication to every node; serialized only then.
      trace: span === undefined ? undefined : () => span.header(),
    });
    return {
      room_id: roomId,
      seq: sent.seq,
      epoch: sent.epoch,
      // Through the cluster, it reaches this node's members from the cluster's stream: all of them.
      delivered: sent.delivered ?? this.rooms.get(roomId)?.size ?? 0,
    };
  }

  /**
   * A room frame for this node's members: from the cluster, or numbered here (then already
   * framed, and with the broadcast's own slow-consumer policy and conflation key).
   */
  deliverClusterFrame(roomId: string, frame: RoomFrame): number {
    const room = this.rooms.get(roomId);
    if (!room) return 0;
    return this.delivery.deliverToRoom(
      room,
      frame.seq,
      frame.epoch,
      frame.prepared ?? prepareFrame(Buffer.from(frame.frame)),
      frame.slowConsumer ?? room.settings.slowConsumer,
      this.connectionOf(frame.except),
      `${roomId}\u0000${frame.conflationKey ?? frame.type}`,
    );
  }

  /** A presence_diff from the cluster, for this node's members. */
  deliverClusterPresence(roomId: string, frame: string, exceptConnectionId: string | undefined): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    this.presenceWindows.deliver(room, frame, this.connectionOf(exceptConnectionId));
  }

  /** Sends `{ type, data }` to every connection of a user, on every node; returns how many on this one. */
  sendToUser(userId: string, type: string, data: unknown): number {
    const text = this.engine.stringify({ type, data });
    this.cluster.publishUser(userId, text);
    const targets = this.connections.getByUser(userId);
    if (targets.length === 0) return 0;
    return this.engine.deliver(targets, prepareFrame(Buffer.from(text)), 'disconnect');
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
    const text = this.engine.stringify({ type, data });
    this.cluster.publishAll(text);
    return this.deliverToAll(prepareFrame(Buffer.from(text)));
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

import { randomBytes } from 'node:crypto';
import {
  type DynamicModule,
  Inject,
  Injectable,
  Module,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { isValidRoomId, ROOM_ID_RULE } from '../protocol/room-id.js';
import { isoNow } from '../utils/clock.js';
import { DEFAULT_ROOM_SETTINGS } from '../options/room-settings.js';
import { RealtimeTracing } from '../tracing/realtime-tracing.js';
import {
  ClusterAdapter,
  type ClusterHost,
  type HistoryLimits,
  roomFrameParts,
  type Sequenced,
} from './cluster.adapter.js';

const EMITTER_ADAPTER = Symbol('REALTIME_EMITTER_ADAPTER');
const EMITTER_HISTORY = Symbol('REALTIME_EMITTER_HISTORY');
const EMITTER_TRACING = Symbol('REALTIME_EMITTER_TRACING');

/**
 * Publish-only access to a cluster, for a process that serves no WebSockets (a queue worker, a
 * cron job, a CLI): broadcast to rooms (sequenced like any room broadcast), send to users and
 * to everyone, disconnect users. Import `RealtimeEmitterModule.forRoot({ cluster })`.
 */
@Injectable()
export class RealtimeEmitter implements OnModuleInit, OnApplicationShutdown {
  /** The emitter's id in the cluster (it has no connections: what nodes receive is not for it). */
  readonly nodeId = `emitter-${randomBytes(4).toString('hex')}`;

  /** History kept for what the emitter broadcasts (the nodes' default room settings unless configured). */
  private readonly history: HistoryLimits;
  private readonly tracing: RealtimeTracing;

  constructor(
    @Inject(EMITTER_ADAPTER) private readonly adapter: ClusterAdapter,
    @Inject(EMITTER_HISTORY) history: Partial<HistoryLimits>,
    @Inject(EMITTER_TRACING) tracing: boolean,
  ) {
    this.tracing = new RealtimeTracing(tracing, this.nodeId);
    this.history = {
      size: history.size ?? DEFAULT_ROOM_SETTINGS.historySize,
      ttl: history.ttl ?? DEFAULT_ROOM_SETTINGS.historyTtl,
      maxBytes: history.maxBytes ?? DEFAULT_ROOM_SETTINGS.historyMaxBytes,
    };
  }

  async onModuleInit(): Promise<void> {
    const host: ClusterHost = {
      nodeId: this.nodeId,
      // Counted for nobody: the emitter has no metrics of its own.
      counters: { clusterPublished: 0, clusterReceived: 0 },
      deliverRoom: () => 0,
      deliverUser: () => undefined,
      deliverAll: () => undefined,
      disconnectUser: () => undefined,
      deliverPresence: () => undefined,
    };
    this.adapter.attach(host);
    await this.adapter.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.adapter.stop();
  }

  /**
   * Broadcasts `{ type, room, seq, epoch, data }` to the room's members on every node. Traced
   * (an OpenTelemetry SDK registered), it is a PRODUCER span under what is active (a job's span),
   * and each node's delivery is its child, as for a node's own broadcasts.
   */
  async toRoom(roomId: string, type: string, data: unknown): Promise<Sequenced> {
    if (!isValidRoomId(roomId)) throw new TypeError(ROOM_ID_RULE);
    const parts = roomFrameParts(roomId, type, data, isoNow());
    const span = this.tracing.publish(roomId, type);
    try {
      const sequenced = await (span === undefined
        ? this.adapter.publishRoom(roomId, parts, undefined, this.history)
        : span.run(() => this.adapter.publishRoom(roomId, parts, undefined, this.history, span.header())));
      if (!sequenced) throw new Error(`RealtimeEmitter: the cluster is ${this.adapter.status}; nothing was sent`);
      span?.published(sequenced.seq, sequenced.epoch, 0);
      return sequenced;
    } catch (error) {
      span?.failed(error);
      throw error;
    }
  }

  /** Sends `{ type, data }` to every connection of a user, on every node. */
  toUser(userId: string, type: string, data: unknown): void {
    this.adapter.publishUser(userId, JSON.stringify({ type, data, timestamp: isoNow() }));
  }

  /** Sends `{ type, data }` to every connection on every node. */
  toAll(type: string, data: unknown): void {
    this.adapter.publishAll(JSON.stringify({ type, data, timestamp: isoNow() }));
  }

  /** Closes every connection of a user, on every node, with 4003. */
  disconnectUser(userId: string, reason = 'disconnected by the server'): void {
    this.adapter.publishDisconnect(userId, reason);
  }
}

/** The publish-only module: no WebSocket server, no rooms, just {@link RealtimeEmitter}. */
@Module({})
export class RealtimeEmitterModule {
  /**
   * `history`: what the nodes keep of the emitter's broadcasts for replay; give the same values
   * as the rooms' `historySize`/`historyTtl`/`historyMaxBytes` settings. `tracing`: as the
   * module's option (default true: spans when an OpenTelemetry SDK is registered).
   */
  static forRoot(options: {
    cluster: ClusterAdapter;
    isGlobal?: boolean;
    history?: Partial<HistoryLimits>;
    tracing?: boolean;
  }): DynamicModule {
    return {
      module: RealtimeEmitterModule,
      global: options.isGlobal ?? false,
      providers: [
        { provide: EMITTER_ADAPTER, useValue: options.cluster },
        { provide: EMITTER_HISTORY, useValue: options.history ?? {} },
        { provide: EMITTER_TRACING, useValue: options.tracing !== false },
        RealtimeEmitter,
      ],
      exports: [RealtimeEmitter],
    };
  }
}

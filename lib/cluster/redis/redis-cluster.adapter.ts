import type { Cluster, Redis, RedisOptions } from 'ioredis';
import {
  ClusterAdapter,
  type ClusterHistory,
  type ClusterHost,
  type ClusterPresenceEntry,
  type HistoryChunk,
  type HistoryLimits,
  type LocalSequencer,
  type RoomFrame,
  type RoomFrameParts,
  type Sequenced,
} from '../cluster.adapter.js';
import { ClusterChannels } from '../cluster-channels.js';
import { RoomFrameOrder } from '../room-frame-order.js';
import { RedisNodeRegistry } from './redis-node-registry.js';
import { RedisOutageLog } from './redis-outage.js';
import { RedisRoomReads } from './redis-room-reads.js';
import { RedisSessions } from './redis-sessions.js';
import { RedisSubscriptions } from './redis-subscriptions.js';
import { newEpoch } from '../../utils/epoch.js';
import { RedisPresence } from './redis-presence.js';
import { LiveNodes } from './live-nodes.js';
import { type RedisClusterAdapterOptions } from './redis-adapter.options.js';
import { redisAddress, withoutOfflineQueue } from './redis-address.js';
import { defineScripts, scripts } from './redis-scripts.js';
import { disconnectNow } from '../../internal/ioredis-internals.js';
import { coalesceCommands } from './command-coalescing.js';
import { patientCommandTimeouts } from './patient-command-timeout.js';

export type { RedisClusterAdapterOptions };

/** Milliseconds a command may take before it counts as failed (a publish then goes local). */
const COMMAND_TIMEOUT = 5000;

/**
 * The Redis adapter (ioredis): rooms, users, announcements and kicks across every node that shares
 * the Redis.
 *
 * Subscriptions are per room and per user, held only while this node has members of the room or
 * connections of the user: a node receives no traffic for rooms it has no members in (unlike
 * Socket.IO's classic adapter, where every node gets every message). Each room message costs one
 * PUBLISH however many nodes there are; a node with members pays one subscription per room. Per
 * room channels also map directly onto sharded pub/sub (SSUBSCRIBE) for Redis Cluster.
 *
 * Room frames reach this node's members through the subscription, like everyone else's, never
 * directly: that is what keeps `seq` order on every node when several nodes publish to one room.
 * While Redis is unreachable, publishing fails fast and the caller delivers on this node only;
 * ioredis reconnects and re-subscribes, and the node registers its users again.
 */
export class RedisClusterAdapter extends ClusterAdapter {
  private readonly channels: ClusterChannels;
  private readonly heartbeatInterval: number;
  private readonly nodeTimeout: number;
  /** Set by handOver (a drain): stop() leaves this node's entries for the other nodes to purge. */
  private handingOver = false;
  /** Milliseconds a drained node stays live after it stops (see the option). */
  private readonly handOverGrace: number;
  private readonly positionTtl: number;
  /** This node's share of presence in Redis (created with the host, which knows the node id). */
  private presence!: RedisPresence;
  /** This node's entry in Redis: heartbeat, users, room counts, and the purge of dead nodes. */
  private registry!: RedisNodeRegistry;
  private pub: Redis | Cluster | undefined;
  private sub: Redis | Cluster | undefined;
  /** Redis Cluster: sharded pub/sub; one server: classic pub/sub (works with Redis 6 too). */
  private readonly sharded: boolean;
  private readonly publishCommand: 'spublish' | 'publish';
  private heartbeat: NodeJS.Timeout | undefined;
  /** Rooms and users this node receives traffic for. */
  private readonly subscriptions: RedisSubscriptions;
  /** Reads of rooms' positions and histories. */
  private readonly reads: RedisRoomReads;
  /** Session records (whose session is whose, for a `resume` on any node). */
  private readonly sessions: RedisSessions;
  /** Gap-free, ordered delivery of the watched rooms' frames (see RoomFrameOrder). */
  private readonly order: RoomFrameOrder;
  /** Per room, the latest presence write of this node still on its way (see presenceChanged). */
  private readonly presenceWrites = new Map<string, Promise<void>>();
  private stopped = false;
  private subscriberWasReady = false;
  /** Where Redis is, for the log. */
  private readonly address: string;
  /** What the log says about the connection to Redis. */
  private readonly outage: RedisOutageLog;
  /** The first registration of this process (see register): start-up waits for it. */
  private firstRegistration: Promise<void> | undefined;

  constructor(private readonly options: RedisClusterAdapterOptions = {}) {
    super();
    this.channels = new ClusterChannels(options.prefix ?? 'nest-realtime');
    this.heartbeatInterval = options.heartbeatInterval ?? 2000;
    this.nodeTimeout = options.nodeTimeout ?? 10_000;
    this.positionTtl = options.positionTtl ?? 86_400_000;
    this.handOverGrace = options.handOverGrace ?? 30_000;
    if (!Number.isSafeInteger(this.handOverGrace) || this.handOverGrace < 0) {
      throw new RangeError(`RedisClusterAdapter: handOverGrace must be an integer >= 0 (got ${options.handOverGrace})`);
    }
    const address = redisAddress(options);
    if (address === undefined) {
      throw new Error(
        'RedisClusterAdapter: no Redis address. Pass { url: "redis://host:6379" } (e.g. from an ' +
          'environment variable), redis: { host, port }, or cluster: { nodes }; there is no default, ' +
          'so that a missing setting is not silently taken for a Redis on 127.0.0.1:6379.',
      );
    }
    this.address = address;
    this.outage = new RedisOutageLog(address, this.logger);
    this.sharded = options.cluster !== undefined;
    this.publishCommand = this.sharded ? 'spublish' : 'publish';
    this.reads = new RedisRoomReads(this.channels, this.positionTtl, () => this.pub);
    this.sessions = new RedisSessions(
      this.channels,
      this.logger,
      () => this.pub,
      () => this.stopped,
    );
    this.subscriptions = new RedisSubscriptions(
      this.channels,
      this.sharded,
      this.logger,
      () => this.sub,
      () => this.stopped,
    );
    this.order = new RoomFrameOrder(
      (roomId, frame) => {
        if (this.subscriptions.rooms.has(roomId)) {
          this.deliverRoomFrame(roomId, frame);
        }
      },
      (roomId, afterSeq) => this.roomHistory(roomId, afterSeq, Number.MAX_SAFE_INTEGER),
      () => this.pub?.status === 'ready',
      this.logger,
    );
    if (this.nodeTimeout <= this.heartbeatInterval) {
      throw new Error('RedisClusterAdapter: nodeTimeout must be above heartbeatInterval');
    }
  }

  get status(): 'up' | 'down' {
    return this.pub?.status === 'ready' && this.sub?.status === 'ready' ? 'up' : 'down';
  }

  /** Rooms this node is subscribed to (for leak checks). */
  watchedRooms(): ReadonlySet<string> {
    return this.subscriptions.rooms;
  }

  override attach(host: ClusterHost, local?: LocalSequencer): void {
    super.attach(host, local);
    // This node's view of the live nodes: the registry's heartbeat refreshes it, presence counts by it.
    const live = new LiveNodes(host.nodeId);
    this.presence = new RedisPresence(
      this.channels,
      host.nodeId,
      this.nodeTimeout,
      this.heartbeatInterval,
      live,
      this.publishCommand,
      this.logger,
    );
    this.registry = new RedisNodeRegistry(
      this.channels,
      host.nodeId,
      this.nodeTimeout,
      this.heartbeatInterval,
      this.presence,
      live,
      this.logger,
      () => this.pub,
      () => this.stopped,
    );
  }

  async start(): Promise<void> {
    // ioredis is an optional peer dependency: loaded only by apps that cluster.
    const { Redis, Cluster } = await import('ioredis');
    const base: RedisOptions = { lazyConnect: true, ...this.options.redis };
    const cluster = this.options.cluster;
    const create = (extra: RedisOptions): Redis | Cluster =>
      cluster
        ? new Cluster(cluster.nodes, {
            lazyConnect: true,
            shardedSubscribers: true,
            ...cluster.options,
            enableOfflineQueue: extra.enableOfflineQueue,
            // Not `enableOfflineQueue` per node: ioredis opens a shard's connection on its first
            // command and needs that queue to hold the command meanwhile; without it the first
            // command to each shard failed (a session record, a publish) on every fresh client.
            redisOptions: { ...base, ...cluster.options?.redisOptions, ...withoutOfflineQueue(extra) },
          })
        : this.options.url
          ? new Redis(this.options.url, { ...base, ...extra })
          : new Redis({ ...base, ...extra });
    // Commands fail at once while disconnected (no offline queue): a publish during an outage
    // falls back to local delivery instead of piling up and replaying stale traffic later.
    this.pub = create({ enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT });
    // The subscriber queues what it is asked while Redis is away, however long (no retry limit):
    // a SUBSCRIBE dropped after ioredis' default 20 retries would never be made, as ioredis only
    // re-subscribes channels whose SUBSCRIBE succeeded. Joins do not wait for it then (watchRoom).
    this.sub = create({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    for (const client of [this.pub, this.sub]) {
      client.on('error', (error) => this.outage.connectionError(error));
      // A turn's commands leave in one write (see command-coalescing.ts for why not autopipelining).
      coalesceCommands(client);
      // A stall of this node's event loop does not fail the commands Redis has answered meanwhile.
      patientCommandTimeouts(client);
    }
    defineScripts(this.pub);
    RedisPresence.define(this.pub);
    this.sub.on(this.sharded ? 'smessage' : 'message', (channel: string, message: string) =>
      this.receive(channel, message),
    );
    this.pub.on('ready', () => {
      const first = this.outage.ready();
      const registration = this.registry.register(first);
      if (first) this.firstRegistration = registration;
      // What changed while Redis was away (or was purged meanwhile, had this node been silent for
      // too long) is written again — after the registration, which may first purge what a
      // previous process of this node left.
      void registration.then(() => this.presence.rewrite(this.pub!)).catch(() => undefined);
      // Session records that could not be written meanwhile (see RedisSessions).
      this.sessions.rewrite();
      this.order.runRepairs();
    });
    this.pub.on('close', () => this.outage.lost(this.stopped));
    this.sub.on('close', () => this.order.echoesLost());
    this.sub.on('ready', () => {
      void this.subscriptions.subscribeBase();
      // After a degraded start too: rooms joined meanwhile are read back like after an outage.
      if (this.subscriberWasReady || this.subscriptions.rooms.size > 0) {
        void this.order.subscriberBack((roomId) => this.subscriptions.subscribe(this.channels.room(roomId)));
      }
      this.subscriberWasReady = true;
    });
    this.logger.log(`connecting to Redis at ${this.address} …`);
    const failure = await Promise.all([this.pub.connect(), this.sub.connect()]).then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
    const reason = this.outage.lastError ?? failure?.message;
    if (failure && this.options.failFast) {
      this.stopped = true;
      disconnectNow(this.pub);
      disconnectNow(this.sub);
      throw new Error(
        `RedisClusterAdapter: Redis at ${this.address} is unreachable (${reason}) and ` +
          'failFast is set: not starting. Start Redis or fix the address, or leave failFast off to ' +
          'start degraded (this node only until Redis is back).',
      );
    }
    if (failure) {
      this.outage.unreachable(reason ?? failure.message);
    } else {
      this.logger.log(`connected to Redis at ${this.address}`);
      // A previous process's leftovers are purged before this one admits anybody.
      await this.firstRegistration;
      await this.subscriptions.subscribeBase();
      // A node restarted under the same id (after a crash) takes back what its previous life left:
      // that node never said goodbye, and its heartbeats are this one's now, so no one else would.
      await this.presence.purge(this.pub, this.host.nodeId).catch(() => undefined);
    }
    this.heartbeat = setInterval(() => {
      void this.registry.beat();
      // A long outage: the session records waiting for Redis are dropped as their sessions expire.
      this.sessions.dropExpired();
    }, this.heartbeatInterval).unref();
  }

  override handOver(): void {
    this.handingOver = true;
    // At once, not only at stop(): a node killed before it stops (a grace period that ran out,
    // SIGKILL) must still hand over, or every mover not back within nodeTimeout is announced
    // leaving and arriving again. stop() extends it again, from then.
    if (this.pub?.status !== 'ready') return;
    this.registry.handOver(this.handOverGrace).catch((error: Error) => {
      this.logger.warn(`hand-over at the drain's start failed (tried again at stop): ${error.message}`);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    const pub = this.pub;
    if (this.handingOver) {
      // A drain: the users are resuming on other nodes. This node stays registered, with its
      // presence shares, for handOverGrace, then another node purges it (as a node that died):
      // by then the users who came back are present there, and only the others are announced
      // as leaving. Purging now would announce every one of them as leaving and then arriving
      // again, to every member of their rooms: a storm the size of the rooms times the movers.
      // nodeTimeout alone is too short for that: a herd of thousands takes minutes to come back.
      const grace =
        pub?.status === 'ready'
          ? await this.registry.handOver(this.handOverGrace).then(
              () => this.handOverGrace,
              () => 0,
            )
          : 0;
      this.logger.log(`handed over: the other nodes purge this node's entries in ${grace + this.nodeTimeout} ms`);
    } else if (pub?.status === 'ready') {
      // Leave the cluster cleanly: other nodes stop counting this node's users at once.
      await this.registry.unregister().catch(() => undefined);
    }
    disconnectNow(this.pub);
    disconnectNow(this.sub);
    this.subscriptions.clear();
    this.sessions.clear();
    this.registry.clear();
    this.order.clear();
  }

  async publishRoom(
    roomId: string,
    parts: RoomFrameParts,
    exceptConnectionId: string | undefined,
    history: HistoryLimits,
    trace?: string,
  ): Promise<Sequenced | undefined> {
    if (this.pub?.status !== 'ready') return this.fallBack();
    const header = this.roomFrameHeader(exceptConnectionId, trace);
    try {
      const [seq, epoch] = (await scripts(this.pub).publishRoom(
        this.channels.seq(roomId),
        this.channels.epoch(roomId),
        this.channels.history(roomId),
        this.channels.historyBytes(roomId),
        this.channels.room(roomId),
        newEpoch(),
        header,
        parts.prefix,
        parts.middle,
        parts.suffix,
        this.publishCommand.toUpperCase(),
        history.size,
        history.ttl,
        this.positionTtl,
        history.maxBytes,
      )) as [number, string];
      const sequenced = { seq: Number(seq), epoch };
      if (this.subscriptions.rooms.has(roomId)) {
        const own = { ...sequenced, parts, except: exceptConnectionId, trace };
        this.order.published(roomId, own, this.sub?.status === 'ready');
        // Resolved once this node's members have the frame: the publisher's next message then
        // comes after the broadcast this one caused, as on a single node.
        await this.order.whenDelivered(roomId, sequenced, COMMAND_TIMEOUT);
      }
      return sequenced;
    } catch (error) {
      this.logger.warn(`room publish failed, delivering on this node only: ${(error as Error).message}`);
      return this.fallBack();
    }
  }

  roomPosition(roomId: string): Promise<Sequenced | undefined> {
    return this.reads.position(roomId);
  }

  roomHistory(
    roomId: string,
    afterSeq: number,
    ttl: number,
    chunk?: HistoryChunk,
  ): Promise<ClusterHistory | undefined> {
    return this.reads.history(roomId, afterSeq, ttl, chunk);
  }

  saveSession(sessionId: string, userId: string, ttl: number): void {
    this.sessions.save(sessionId, userId, ttl);
  }

  /** Session records not in Redis yet (for leak checks). */
  get pendingSessionRecords(): number {
    return this.sessions.pendingCount;
  }

  sessionOwner(sessionId: string): Promise<string | undefined> {
    return this.sessions.owner(sessionId);
  }

  watchRoom(roomId: string): Promise<void> {
    return this.subscriptions.watch(roomId);
  }

  unwatchRoom(roomId: string): void {
    if (this.subscriptions.unwatch(roomId)) this.order.forget(roomId);
  }

  userArrived(userId: string): void {
    if (this.registry.users.has(userId)) return;
    this.registry.users.add(userId);
    // Subscribed first, registered second: once another node sees the user online, what it
    // sends to the user arrives.
    void this.subscriptions.subscribe(this.channels.user(userId)).then(() => this.registry.userSubscribed(userId));
  }

  userDeparted(userId: string): void {
    if (!this.registry.users.delete(userId)) return;
    this.subscriptions.unsubscribe(this.channels.user(userId));
    this.registry.userDeparted(userId);
  }

  presenceChanged(
    roomId: string,
    userId: string,
    username: string,
    connections: number,
    diff: string | undefined,
    exceptConnectionId?: string,
  ): void {
    const write = this.presence.changed(this.pub, roomId, userId, username, connections, diff, exceptConnectionId);
    // A presence read on this node waits for this node's writes to the room: a connection that
    // joins and then asks for `presence` finds itself in it (PROTOCOL.md, "Ordering"). Writes to
    // one room complete in the order they were made, so the latest one stands for all.
    this.presenceWrites.set(roomId, write);
    void write.then(() => {
      if (this.presenceWrites.get(roomId) === write) this.presenceWrites.delete(roomId);
    });
  }

  membersChanged(roomId: string, delta: 1 | -1): void {
    this.registry.membersChanged(roomId, delta);
  }

  isUserOnlineElsewhere(userId: string): Promise<boolean> {
    return this.registry.isUserOnlineElsewhere(userId);
  }

  roomCounts(): Promise<Map<string, number> | undefined> {
    return this.registry.roomCounts();
  }

  async presenceState(roomId: string): Promise<ClusterPresenceEntry[] | undefined> {
    if (this.pub?.status !== 'ready') return undefined;
    const pending = this.presenceWrites.get(roomId);
    if (pending !== undefined) await pending;
    try {
      return await this.presence.state(this.pub, roomId);
    } catch {
      return undefined;
    }
  }

  protected transmit(kind: 'U' | 'A' | 'K', userId: string | undefined, publication: string): void {
    if (this.pub?.status !== 'ready') return;
    const channel =
      kind === 'U' ? this.channels.user(userId!) : kind === 'A' ? this.channels.all() : this.channels.kick();
    this.pub[this.publishCommand](channel, publication).catch((error: Error) => {
      this.logger.warn(`publish to ${channel} failed: ${error.message}`);
    });
  }

  protected roomOf(channel: string): string | undefined {
    return this.channels.roomOf(channel);
  }

  protected userOf(channel: string): string | undefined {
    return this.channels.userOf(channel);
  }

  protected receivedRoomFrame(roomId: string, frame: RoomFrame): void {
    if (this.subscriptions.rooms.has(roomId)) this.order.received(roomId, frame);
  }

  /**
   * Redis cannot take a publication: the caller delivers it on this node. Own frames still
   * awaiting their echo go first, so that local members keep this node's publishing order (an
   * echo that arrives after all is recognised by its seq and dropped).
   */
  private fallBack(): undefined {
    this.order.echoesLost();
    return undefined;
  }

  /** Own frames awaiting their echo, and rooms being read back (for leak checks). */
  get unechoedCount(): number {
    return this.order.unechoedCount;
  }

  get repairCount(): number {
    return this.order.repairCount;
  }
}

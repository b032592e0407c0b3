import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';
import { ClusterAdapter, type ClusterHost, type RoomFrameParts, type Sequenced } from './cluster.adapter.js';
import { ClusterChannels } from './cluster-channels.js';

/** Options of {@link RedisClusterAdapter}. */
export interface RedisClusterAdapterOptions {
  /** `redis://host:port[/db]`. */
  url?: string;
  /** ioredis options (merged over the URL). */
  redis?: RedisOptions;
  /**
   * Prefix of every key and channel, so that several apps can share a Redis.
   * @default 'nest-realtime'
   */
  prefix?: string;
  /**
   * Milliseconds between node heartbeats.
   * @default 2000
   */
  heartbeatInterval?: number;
  /**
   * Milliseconds without a heartbeat after which a node counts as dead and its users are purged.
   * @default 10000
   */
  nodeTimeout?: number;
}

/**
 * Sequences a room broadcast and publishes it in one atomic step, so that every node receives a
 * room's frames in `seq` order. The frame is assembled here from the parts around `seq` and
 * `epoch`: one serialization per message, done by the publisher. A missing epoch key means the
 * room's history was lost (new room, FLUSHALL, restart without persistence): a new epoch starts.
 */
const PUBLISH_ROOM = `
local seq = redis.call('INCR', KEYS[1])
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', KEYS[2], epoch)
end
redis.call('PUBLISH', ARGV[1], ARGV[3] .. ARGV[4] .. seq .. ARGV[5] .. epoch .. ARGV[6])
return {seq, epoch}
`;

const SEPARATOR = '\n';

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
  private readonly logger = new Logger('RealtimeCluster');
  private readonly channels: ClusterChannels;
  private readonly heartbeatInterval: number;
  private readonly nodeTimeout: number;
  private host!: ClusterHost;
  private pub: Redis | undefined;
  private sub: Redis | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Rooms and users this node receives traffic for. */
  private readonly rooms = new Set<string>();
  private readonly users = new Set<string>();
  private stopped = false;

  constructor(private readonly options: RedisClusterAdapterOptions = {}) {
    super();
    this.channels = new ClusterChannels(options.prefix ?? 'nest-realtime');
    this.heartbeatInterval = options.heartbeatInterval ?? 2000;
    this.nodeTimeout = options.nodeTimeout ?? 10_000;
    if (this.nodeTimeout <= this.heartbeatInterval) {
      throw new Error('RedisClusterAdapter: nodeTimeout must be above heartbeatInterval');
    }
  }

  get status(): 'up' | 'down' {
    return this.pub?.status === 'ready' && this.sub?.status === 'ready' ? 'up' : 'down';
  }

  /** Rooms this node is subscribed to (for leak checks). */
  watchedRooms(): ReadonlySet<string> {
    return this.rooms;
  }

  attach(host: ClusterHost): void {
    this.host = host;
  }

  async start(): Promise<void> {
    // ioredis is an optional peer dependency: loaded only by apps that cluster.
    const { Redis } = await import('ioredis');
    const base: RedisOptions = { lazyConnect: true, ...this.options.redis };
    const create = (extra: RedisOptions) =>
      this.options.url ? new Redis(this.options.url, { ...base, ...extra }) : new Redis({ ...base, ...extra });
    // Commands fail at once while disconnected (no offline queue): a publish during an outage
    // falls back to local delivery instead of piling up and replaying stale traffic later.
    this.pub = create({ enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.sub = create({ enableOfflineQueue: true });
    for (const client of [this.pub, this.sub]) client.on('error', (error) => this.connectionError(error));
    this.pub.defineCommand('publishRoom', { numberOfKeys: 2, lua: PUBLISH_ROOM });
    this.sub.on('message', (channel: string, message: string) => this.receive(channel, message));
    this.pub.on('ready', () => void this.register());
    await Promise.all([this.pub.connect(), this.sub.connect()]).catch((error: unknown) => this.connectionError(error));
    await this.subscribe(this.channels.all(), this.channels.kick());
    this.heartbeat = setInterval(() => void this.beat(), this.heartbeatInterval).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    const pub = this.pub;
    if (pub?.status === 'ready') {
      // Leave the cluster cleanly: other nodes stop counting this node's users at once.
      await this.unregister().catch(() => undefined);
    }
    this.pub?.disconnect();
    this.sub?.disconnect();
    this.rooms.clear();
    this.users.clear();
  }

  async publishRoom(
    roomId: string,
    parts: RoomFrameParts,
    exceptConnectionId?: string,
  ): Promise<Sequenced | undefined> {
    if (this.pub?.status !== 'ready') return undefined;
    const header = ['R', this.host.nodeId, exceptConnectionId ?? ''].join(SEPARATOR) + SEPARATOR;
    try {
      const [seq, epoch] = (await (this.pub as unknown as PublishRoom).publishRoom(
        this.channels.seq(roomId),
        this.channels.epoch(roomId),
        this.channels.room(roomId),
        randomBytes(6).toString('base64url'),
        header,
        parts.prefix,
        parts.middle,
        parts.suffix,
      )) as [number, string];
      return { seq: Number(seq), epoch };
    } catch (error) {
      this.logger.warn(`room publish failed, delivering on this node only: ${(error as Error).message}`);
      return undefined;
    }
  }

  async watchRoom(roomId: string): Promise<void> {
    if (this.rooms.has(roomId)) return;
    this.rooms.add(roomId);
    await this.subscribe(this.channels.room(roomId));
  }

  unwatchRoom(roomId: string): void {
    if (!this.rooms.delete(roomId)) return;
    // Commands on the subscriber connection run in order: a later watchRoom's SUBSCRIBE comes
    // after this UNSUBSCRIBE, so churn cannot leave the room unsubscribed or subscribed twice.
    this.sub?.unsubscribe(this.channels.room(roomId)).catch(() => undefined);
  }

  userArrived(userId: string): void {
    if (this.users.has(userId)) return;
    this.users.add(userId);
    void this.subscribe(this.channels.user(userId));
    this.pub
      ?.multi()
      .hset(this.channels.online(userId), this.host.nodeId, '1')
      .sadd(this.channels.nodeUsers(this.host.nodeId), userId)
      .exec()
      .catch(() => undefined);
  }

  userDeparted(userId: string): void {
    if (!this.users.delete(userId)) return;
    this.sub?.unsubscribe(this.channels.user(userId)).catch(() => undefined);
    this.pub
      ?.multi()
      .hdel(this.channels.online(userId), this.host.nodeId)
      .srem(this.channels.nodeUsers(this.host.nodeId), userId)
      .exec()
      .catch(() => undefined);
  }

  publishUser(userId: string, frame: string): void {
    this.publish(this.channels.user(userId), ['U', this.host.nodeId, frame]);
  }

  publishAll(frame: string): void {
    this.publish(this.channels.all(), ['A', this.host.nodeId, frame]);
  }

  publishDisconnect(userId: string, reason: string): void {
    this.publish(this.channels.kick(), ['K', this.host.nodeId, userId, reason.replace(/\n/g, ' ')]);
  }

  async isUserOnlineElsewhere(userId: string): Promise<boolean> {
    if (this.pub?.status !== 'ready') return false;
    try {
      const nodes = Object.keys(await this.pub.hgetall(this.channels.online(userId))).filter(
        (n) => n !== this.host.nodeId,
      );
      if (nodes.length === 0) return false;
      const since = Date.now() - this.nodeTimeout;
      const scores = await Promise.all(nodes.map((node) => this.pub!.zscore(this.channels.nodes(), node)));
      return scores.some((score) => score !== null && Number(score) >= since);
    } catch {
      return false;
    }
  }

  private publish(channel: string, fields: string[]): void {
    if (this.pub?.status !== 'ready') return;
    this.pub.publish(channel, fields.join(SEPARATOR)).catch((error: Error) => {
      this.logger.warn(`publish to ${channel} failed: ${error.message}`);
    });
  }

  private async subscribe(...channels: string[]): Promise<void> {
    try {
      await this.sub?.subscribe(...channels);
    } catch (error) {
      // Re-subscribed by ioredis when the connection comes back.
      this.logger.warn(`subscribe failed (${(error as Error).message}); it is retried on reconnect`);
    }
  }

  /**
   * Everything from Redis is validated before use: a malformed publication is logged and
   * dropped, never delivered and never thrown.
   */
  private receive(channel: string, message: string): void {
    try {
      const kind = message[0];
      const parts = message.split(SEPARATOR);
      const origin = parts[1];
      if (kind === 'R') {
        const frame = parts.slice(3).join(SEPARATOR);
        const parsed = JSON.parse(frame) as { type?: unknown; room?: unknown };
        const roomId = this.channels.roomOf(channel);
        if (typeof parsed?.type !== 'string' || roomId === undefined || parsed.room !== roomId)
          throw new Error('bad room frame');
        this.host.deliverRoom(roomId, frame, parsed.type, parts[2] || undefined);
      } else if (origin === this.host.nodeId) {
        // Users, announcements and kicks were already handled on this node when published.
      } else if (kind === 'U' || kind === 'A') {
        const frame = parts.slice(2).join(SEPARATOR);
        if (typeof (JSON.parse(frame) as { type?: unknown })?.type !== 'string') throw new Error('bad frame');
        if (kind === 'U') {
          const userId = this.channels.userOf(channel);
          if (userId === undefined) throw new Error('bad user channel');
          this.host.deliverUser(userId, frame);
        } else {
          this.host.deliverAll(frame);
        }
      } else if (kind === 'K' && parts.length >= 4) {
        this.host.disconnectUser(parts[2], parts.slice(3).join(' '));
      } else {
        throw new Error(`unknown kind ${JSON.stringify(kind)}`);
      }
    } catch (error) {
      this.logger.warn(`dropped a malformed publication on ${channel}: ${(error as Error).message}`);
    }
  }

  /** (Re)registers this node and its users: at start and whenever Redis comes back. */
  private async register(): Promise<void> {
    if (this.stopped || this.pub?.status !== 'ready') return;
    const node = this.host.nodeId;
    const batch = this.pub.multi().zadd(this.channels.nodes(), Date.now(), node);
    for (const userId of this.users) {
      batch.hset(this.channels.online(userId), node, '1').sadd(this.channels.nodeUsers(node), userId);
    }
    await batch.exec().catch(() => undefined);
  }

  private async unregister(): Promise<void> {
    const node = this.host.nodeId;
    const batch = this.pub!.multi().zrem(this.channels.nodes(), node).del(this.channels.nodeUsers(node));
    for (const userId of this.users) batch.hdel(this.channels.online(userId), node);
    await batch.exec();
  }

  /** Heartbeat, and purge of nodes that died without cleaning up after themselves. */
  private async beat(): Promise<void> {
    const pub = this.pub;
    if (this.stopped || pub?.status !== 'ready') return;
    try {
      const now = Date.now();
      await pub.zadd(this.channels.nodes(), now, this.host.nodeId);
      const dead = await pub.zrangebyscore(this.channels.nodes(), '-inf', now - this.nodeTimeout);
      for (const node of dead) {
        const users = await pub.smembers(this.channels.nodeUsers(node));
        const batch = pub.multi();
        for (const userId of users) batch.hdel(this.channels.online(userId), node);
        await batch.del(this.channels.nodeUsers(node)).zrem(this.channels.nodes(), node).exec();
        this.logger.warn(`node ${node} missed its heartbeats: purged ${users.length} user(s)`);
      }
    } catch (error) {
      this.logger.debug(`heartbeat failed: ${(error as Error).message}`);
    }
  }

  private connectionError(error: unknown): void {
    // ioredis reconnects by itself; log once per burst at debug level to avoid flooding.
    this.logger.debug(`redis: ${(error as Error)?.message ?? String(error)}`);
  }
}

interface PublishRoom {
  publishRoom(...args: (string | number)[]): Promise<unknown>;
}

import type { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import type { ClusterChannels } from '../cluster-channels.js';
import { KeepSchedule } from './keep-schedule.js';
import type { LiveNodes } from './live-nodes.js';
import { NodeShares } from './node-shares.js';
import type { RedisPresence } from './redis-presence.js';
import { scripts } from './redis-scripts.js';

/**
 * This node's entry in the Redis registry of nodes: its heartbeat (which also refreshes this
 * node's view of the live nodes, {@link LiveNodes}), the users it has and its room counts (each
 * key on a lease its heartbeats renew: the user set and room counts at every heartbeat, the
 * users' online entries rarely, as garbage collection only), the cluster-wide reads over the
 * live nodes (is a user online elsewhere, member counts per room), and the purge of nodes that
 * died without a goodbye.
 * Written again whole whenever Redis comes back (`register`). Whether a node is live is judged
 * by Redis's clock only (the heartbeat scripts in redis-scripts.ts), never by a node's own.
 */
export class RedisNodeRegistry {
  /** Users with a connection on this node. */
  readonly users = new Set<string>();
  /**
   * Lease of this node's user set and room counts, renewed at every heartbeat: what a dead node
   * leaves when nobody purges it (the purging node died too) expires instead of staying for
   * ever. Twice `nodeTimeout`, so that the purge of a dead node still finds them.
   */
  private readonly keyTtl: number;
  /**
   * When the online entries of this node's users are due for renewal; its `ttl` is their lease.
   * Renewing one costs a command per user, and readers count a node's field in an entry only
   * while the node is live (isUserOnlineElsewhere), so the lease is garbage collection only,
   * renewed like the presence shares' keeps: once per renewal period (five minutes at least),
   * spread over the heartbeats (60 000 users: 200 commands a second instead of 3 000).
   */
  private readonly onlineKept: KeepSchedule<string>;
  /** Users whose registration failed while Redis was up: written again at the next heartbeat. */
  private readonly unwritten = new Set<string>();
  /** This node's room counts, written back after Redis lost them. */
  private readonly shares = new NodeShares();

  constructor(
    private readonly channels: ClusterChannels,
    private readonly nodeId: string,
    /** Milliseconds without a heartbeat after which a node counts as dead. */
    private readonly nodeTimeout: number,
    heartbeatInterval: number,
    private readonly presence: RedisPresence,
    /** This node's view of the live nodes, refreshed here at each heartbeat. */
    private readonly live: LiveNodes,
    private readonly logger: Logger,
    /** The command connection, if any. */
    private readonly client: () => Redis | Cluster | undefined,
    /** Whether the adapter stopped (nothing is registered any more). */
    private readonly stopped: () => boolean,
  ) {
    this.keyTtl = nodeTimeout * 2;
    this.onlineKept = new KeepSchedule(nodeTimeout, heartbeatInterval);
  }

  private get pub(): Redis | Cluster | undefined {
    return this.client();
  }

  /** A user's subscription is in place: now other nodes may see the user online here. */
  userSubscribed(userId: string): void {
    const pub = this.pub;
    if (pub?.status !== 'ready' || !this.users.has(userId)) return;
    void this.writeUser(pub, userId);
  }

  /** A user left this node (already removed from `users`). */
  userDeparted(userId: string): void {
    this.onlineKept.forget(userId);
    this.unwritten.delete(userId);
    const pub = this.pub;
    if (pub?.status !== 'ready') return;
    pub.hdel(this.channels.online(userId), this.nodeId).catch(() => undefined);
    pub.srem(this.channels.nodeUsers(this.nodeId), userId).catch(() => undefined);
  }

  clear(): void {
    this.users.clear();
    this.onlineKept.clear();
    this.unwritten.clear();
    this.shares.clear();
  }

  membersChanged(roomId: string, delta: 1 | -1): void {
    this.shares.roomChanged(roomId, delta);
    if (this.pub?.status !== 'ready') return;
    // Only this node's own counts are written; the cluster total is summed over the live nodes
    // when asked. Nothing to keep in step, and a dead node's counts vanish with its purge.
    scripts(this.pub)
      .countField(this.channels.nodeRooms(this.nodeId), roomId, delta, this.keyTtl)
      .catch(() => undefined);
  }

  async isUserOnlineElsewhere(userId: string): Promise<boolean> {
    if (this.pub?.status !== 'ready') return false;
    try {
      const pub = this.pub;
      const nodes = Object.keys(await pub.hgetall(this.channels.online(userId))).filter((n) => n !== this.nodeId);
      if (nodes.length === 0) return false;
      const live = (await scripts(pub).liveNodes(this.channels.nodes(), this.nodeTimeout, ...nodes)) as string[];
      return live.length > 0;
    } catch {
      return false;
    }
  }

  async roomCounts(): Promise<Map<string, number> | undefined> {
    if (this.pub?.status !== 'ready') return undefined;
    try {
      const pub = this.pub;
      const nodes = (await scripts(pub).liveNodes(this.channels.nodes(), this.nodeTimeout)) as string[];
      const totals = new Map<string, number>();
      for (const counts of await Promise.all(nodes.map((node) => pub.hgetall(this.channels.nodeRooms(node))))) {
        for (const [room, count] of Object.entries(counts)) totals.set(room, (totals.get(room) ?? 0) + Number(count));
      }
      for (const [room, count] of totals) if (count <= 0) totals.delete(room);
      return totals;
    } catch {
      return undefined;
    }
  }

  /**
   * Removes a node's share of presence and room counts and its online entries, announcing the
   * users that thereby left their rooms. Run by whichever node wins the ZREM of a dead node, and
   * by a node for itself when it stops.
   */
  async purgeNode(node: string): Promise<number> {
    const pub = this.pub!;
    const users = await pub.smembers(this.channels.nodeUsers(node));
    await this.presence.purge(pub, node);
    // One command each: in a Redis Cluster these keys live in different slots.
    await Promise.all([
      ...users.map((userId) => pub.hdel(this.channels.online(userId), node)),
      pub.del(this.channels.nodeUsers(node)),
      pub.del(this.channels.nodeRooms(node)),
    ]);
    return users.length;
  }

  /**
   * (Re)registers this node and its users: at start and whenever Redis comes back.
   *
   * The first time, what a previous process with this node id left behind is purged: a node that
   * crashed and came back under the same id (a restarted pod, a process manager) heartbeats again
   * before any other node sees it dead, so nobody else would ever purge its old users and
   * presence — they would stay online forever. Only the node whose ZREM removes the old
   * heartbeat purges, as in {@link beat}, so a node that another one is purging as dead right
   * now is not purged twice. (Two live processes sharing a node id are a misconfiguration this
   * cannot fix.)
   */
  async register(first = false): Promise<void> {
    if (this.stopped() || this.pub?.status !== 'ready') return;
    const node = this.nodeId;
    const pub = this.pub;
    if (first) {
      try {
        // The purge below tells which of the old process's users are still on another live node.
        this.live.update((await scripts(pub).liveNodes(this.channels.nodes(), this.nodeTimeout)) as string[]);
        if ((await pub.zrem(this.channels.nodes(), node)) === 1) {
          const users = await this.purgeNode(node);
          if (users > 0) this.logger.warn(`node ${node} restarted: purged ${users} user(s) of its previous process`);
        }
      } catch (error) {
        this.logger.warn(`could not purge the previous process of node ${node}: ${(error as Error).message}`);
      }
    }
    await Promise.all([this.heartbeat(pub), ...[...this.users].map((userId) => this.writeUser(pub, userId))]).catch(
      () => undefined,
    );
    // Also the first time: a node that started while Redis was away has members already.
    await this.restoreShares().catch(() => undefined);
  }

  /**
   * When Redis is (back) there: brings this node's room counts in Redis back to what the node
   * has, whether Redis lost them (restart, flush, purge) or kept them (a dropped connection). The
   * hash is only this node's: replaced whole, in one transaction.
   */
  private async restoreShares(): Promise<void> {
    const pub = this.pub!;
    const key = this.channels.nodeRooms(this.nodeId);
    const counts = this.shares.roomCounts();
    // One MULTI: a reader (or a crash) between the commands would see the hash gone, or without
    // its lease.
    const replace = pub.multi().del(key);
    if (Object.keys(counts).length > 0) replace.hset(key, counts).pexpire(key, this.keyTtl);
    await replace.exec();
  }

  /**
   * Records a user of this node (see registerUser); once written, its online entry's renewal is
   * due a period from now. A failed write is tried again at the next heartbeat (`unwritten`):
   * until then, other nodes do not see the user online here.
   */
  private async writeUser(pub: Redis | Cluster, userId: string): Promise<void> {
    this.unwritten.delete(userId);
    try {
      // Two transactions rather than one: the keys live in different Redis Cluster slots.
      await Promise.all(this.registerUser(pub, userId));
      // Departed meanwhile: nothing to renew.
      if (this.users.has(userId)) this.onlineKept.keptNow(userId);
    } catch {
      if (this.users.has(userId)) this.unwritten.add(userId);
    }
  }

  /**
   * The commands that record a user of this node, each key with its lease (see keyTtl and
   * onlineKept). Each key's write and its lease go in one MULTI (one key each, so one slot on
   * Redis Cluster): sent as two commands, a node that dies between them would leave a key that
   * never expires, and a reader between them sees a key without its lease.
   */
  private registerUser(pub: Redis | Cluster, userId: string): Promise<unknown>[] {
    const online = this.channels.online(userId);
    const users = this.channels.nodeUsers(this.nodeId);
    return [
      pub.multi().hset(online, this.nodeId, '1').pexpire(online, this.onlineKept.ttl).exec(),
      pub.multi().sadd(users, userId).pexpire(users, this.keyTtl).exec(),
    ];
  }

  /**
   * The heartbeat's renewal of this node's leases: its user set and room counts at every beat
   * (see keyTtl), its users' online entries that are due (see onlineKept), pipelined. A user's
   * online hash is shared by the nodes the user is on: each renews it, so it lasts as long as one
   * of them lives. Keys found gone are written again: the user set or room counts (expired while
   * the heartbeats failed, purged by nodes that took this one for dead, lost by Redis) mean the
   * online entries went too, and all is written again as after an outage; an online entry alone
   * (deleted by hand, lost in a Redis Cluster failover) is written again when its renewal is due.
   */
  private async renewKeys(pub: Redis | Cluster): Promise<void> {
    const node = this.nodeId;
    const [usersKept, roomsKept] = await Promise.all([
      pub.pexpire(this.channels.nodeUsers(node), this.keyTtl),
      pub.pexpire(this.channels.nodeRooms(node), this.keyTtl),
    ]);
    const roomsGone = roomsKept === 0 && Object.keys(this.shares.roomCounts()).length > 0;
    if ((usersKept === 0 && this.users.size > 0) || roomsGone) return this.register();
    const unwritten = new Set(this.unwritten);
    const renewals = this.onlineKept.due(unwritten).map(async (userId) => {
      const kept = await pub.pexpire(this.channels.online(userId), this.onlineKept.ttl);
      // Departed meanwhile: its entry is no longer this node's to keep.
      if (!this.users.has(userId)) return;
      if (kept === 0) await this.writeUser(pub, userId);
      else this.onlineKept.keptNow(userId);
    });
    await Promise.all([...[...unwritten].map((userId) => this.writeUser(pub, userId)), ...renewals]);
  }

  /**
   * A drain hands this node's users over to other nodes (see
   * RedisClusterAdapterOptions.handOverGrace): a heartbeat scored `grace` ms ahead keeps it live
   * that long (its own heartbeats never move the score back), and its presence shares are kept
   * at least that long. Run when the drain starts and again when the node stops. Then the other
   * nodes purge it as a dead node, announcing as leaving only the users who did not come back.
   */
  async handOver(grace: number): Promise<void> {
    const pub = this.pub!;
    // The shares first: a node seen live must have them.
    await this.presence.handOver(pub, grace + this.nodeTimeout);
    await this.heartbeat(pub, grace);
  }

  async unregister(): Promise<void> {
    await this.pub!.zrem(this.channels.nodes(), this.nodeId);
    await this.purgeNode(this.nodeId);
  }

  /**
   * This node's entry in the node table renewed (by Redis's clock), and the live nodes of the
   * table read in the same step into this node's view. Returns the dead nodes. `ahead`: ms
   * into the future the entry is scored (a hand-over, see handOver).
   */
  private async heartbeat(pub: Redis | Cluster, ahead = 0): Promise<string[]> {
    const [live, dead] = (await scripts(pub).nodeBeat(this.channels.nodes(), this.nodeId, this.nodeTimeout, ahead)) as [
      string[],
      string[],
    ];
    this.live.update(live);
    return dead;
  }

  /** Heartbeat, and purge of nodes that died without cleaning up after themselves. */
  async beat(): Promise<void> {
    const pub = this.pub;
    if (this.stopped() || pub?.status !== 'ready') return;
    try {
      const dead = await this.heartbeat(pub);
      // A failed renewal is tried again at the next beat, well within the leases.
      await Promise.all([
        this.presence.beat(pub).catch((error: Error) => this.logger.debug(`presence heartbeat: ${error.message}`)),
        this.renewKeys(pub).catch((error: Error) => this.logger.debug(`key lease renewal: ${error.message}`)),
      ]);
      for (const node of dead) {
        // Only the node whose ZREM removes the dead node purges it: no double decrement.
        if ((await pub.zrem(this.channels.nodes(), node)) !== 1) continue;
        const users = await this.purgeNode(node);
        this.logger.warn(`node ${node} missed its heartbeats: purged ${users} user(s)`);
      }
    } catch (error) {
      this.logger.debug(`heartbeat failed: ${(error as Error).message}`);
    }
  }
}

import type { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import type { ClusterPresenceEntry } from '../cluster.adapter.js';
import type { ClusterChannels } from '../cluster-channels.js';
import { roomHeader } from '../cluster-publication.js';
import { presenceDiffJson } from '../../protocol/presence-diff.js';

/**
 * Lua shared by the scripts below: Redis's own clock in ms (every node reads one clock), and a
 * node's lease on its share of a room's presence — the share kept twice the lease, so that whoever
 * purges a dead node can still read it, and the node's entry in the room's node index counting
 * until now + ttl.
 */
const LEASE = `
local function nowMs()
  local t = redis.call('TIME')
  return t[1] * 1000 + math.floor(t[2] / 1000)
end
local function lease(share, index, node, ttl, now)
  redis.call('PEXPIRE', share, ttl * 2)
  redis.call('ZADD', index, now + ttl, node)
  redis.call('PEXPIRE', index, ttl * 2)
end
`;

/**
 * Sets (or, with an empty value, removes) a user's entry in a node's share of a room's presence.
 * When the node writes its own share (ARGV[8] '1'), the share's lease in the room's node index
 * is renewed to now + ttl; the share itself is kept twice as long, so that whoever purges a dead
 * node can still read it and announce its users' leaves. ARGV[7] is a `presence_diff` publication
 * (header and frame) to send when the user is in no other live node's share: the change of this
 * share made the user arrive in or leave the room cluster-wide. One script in the room's slot, so
 * two nodes cannot both (or neither) announce one user.
 * KEYS: share, node index. ARGV: node id, user id, value, ttl ms, share key prefix, channel,
 * publication or '', renew lease '1'/'0', publish command.
 */
const SET_SHARE = `${LEASE}
local ms = nowMs()
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[2]) else redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
elseif ARGV[8] == '1' then
  lease(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[4]), ms)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ms)
if ARGV[7] == '' then return 0 end
for _, node in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if node ~= ARGV[1] and redis.call('HEXISTS', ARGV[5] .. node, ARGV[2]) == 1 then return 0 end
end
redis.call(ARGV[9], ARGV[6], ARGV[7])
return 1
`;

/**
 * Renews a node's lease on its share of a room's presence (its heartbeat). 0 when the share is
 * gone (lost by Redis, or purged while the node was cut off): the node then writes it again.
 * KEYS: share, node index. ARGV: node id, ttl ms.
 */
const RENEW_SHARE = `${LEASE}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
lease(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), nowMs())
return 1
`;

/**
 * Replaces a node's share of a room's presence with what the node holds (after an outage, or a
 * share found gone), without announcing anything. KEYS: share, node index. ARGV: node id, ttl
 * ms, then user id and value pairs.
 */
const WRITE_SHARE = `${LEASE}
redis.call('DEL', KEYS[1])
if #ARGV < 4 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
lease(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), nowMs())
return 1
`;

/**
 * The shares of a room's presence whose lease has not run out, as user id and value pairs.
 * KEYS: node index. ARGV: share key prefix.
 */
const READ_SHARES = `${LEASE}
local out = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], nowMs(), '+inf')) do
  local fields = redis.call('HGETALL', ARGV[1] .. node)
  for i = 1, #fields do out[#out + 1] = fields[i] end
end
return out
`;

interface PresenceCommands {
  setPresenceShare(...args: (string | number)[]): Promise<unknown>;
  renewPresenceShare(...args: (string | number)[]): Promise<unknown>;
  writePresenceShare(...args: (string | number)[]): Promise<unknown>;
  readPresenceShares(...args: (string | number)[]): Promise<unknown>;
}

/** A share's value: `connections:username` (the username may hold any character). */
function shareValue(connections: number, username: string): string {
  return `${connections}:${username}`;
}

function parseShareValue(value: string): { connections: number; username: string } | undefined {
  const colon = value.indexOf(':');
  const connections = Number(value.slice(0, colon));
  if (colon < 1 || !Number.isInteger(connections) || connections <= 0) return undefined;
  return { connections, username: value.slice(colon + 1) };
}

/**
 * Cluster-wide presence in Redis, as one share per node and room: a hash of the node's users in
 * the room with their connections there. A room's presence is the sum of the shares whose
 * *lease* in the room's node index has not run out; each node renews its leases at every
 * heartbeat. So a node that dies without a goodbye (SIGKILL, a lost host) drops out of every
 * room's presence within `ttl` of its last heartbeat, whether or not another node is there to
 * purge it; the node that does purge it (see RedisClusterAdapter's heartbeat) also announces its
 * users' leaves, and what nobody purges expires after twice the ttl.
 *
 * A node writes its share as absolute values, from what it holds (`local`): writing it again is
 * harmless, which is how it recovers from an outage or a lost key.
 */
export class RedisPresence {
  /** This node's share of each room's presence, as written to Redis: room → user → value. */
  private readonly local = new Map<string, Map<string, string>>();
  /** Rooms whose share in Redis may differ from `local` (a write failed or was skipped). */
  private readonly stale = new Set<string>();

  constructor(
    private readonly channels: ClusterChannels,
    private readonly nodeId: string,
    /** Milliseconds a share counts after its last renewal. */
    private readonly ttl: number,
    private readonly publishCommand: string,
    private readonly logger: Logger,
  ) {}

  static define(client: Redis | Cluster): void {
    client.defineCommand('setPresenceShare', { numberOfKeys: 2, lua: SET_SHARE });
    client.defineCommand('renewPresenceShare', { numberOfKeys: 2, lua: RENEW_SHARE });
    client.defineCommand('writePresenceShare', { numberOfKeys: 2, lua: WRITE_SHARE });
    client.defineCommand('readPresenceShares', { numberOfKeys: 1, lua: READ_SHARES });
  }

  /**
   * Records this node's share of a user in a room and writes it, with `diff` for when the user
   * arrived or left cluster-wide. Every command is issued before this returns, so that changes to
   * one room reach Redis in the order they were made. Kept while Redis is away or a write fails:
   * the room's share is then written again in full (see renew and rewrite).
   */
  changed(
    pub: Redis | Cluster | undefined,
    roomId: string,
    userId: string,
    username: string,
    connections: number,
    diff: string | undefined,
    exceptConnectionId: string | undefined,
  ): Promise<void> {
    const registry = this.channels.nodePresence(this.nodeId);
    const ready = pub?.status === 'ready';
    let users = this.local.get(roomId);
    const value = connections > 0 ? shareValue(connections, username) : '';
    if (value !== '') {
      if (users === undefined) {
        this.local.set(roomId, (users = new Map()));
        // The room is registered before the share is written: a purge of this node finds it.
        if (ready) pub.sadd(registry, roomId).catch(() => this.stale.add(roomId));
      }
      users.set(userId, value);
    } else if (users?.delete(userId) && users.size === 0) {
      this.local.delete(roomId);
      if (ready) pub.srem(registry, roomId).catch(() => undefined);
    }
    if (!ready) {
      this.stale.add(roomId);
      return Promise.resolve();
    }
    return this.setShare(pub, this.nodeId, roomId, userId, value, diff, exceptConnectionId ?? '', true).catch(
      (error: Error) => {
        this.stale.add(roomId);
        this.logger.warn(`presence update failed (written again at the next heartbeat): ${error.message}`);
      },
    );
  }

  /** The room's presence over every share whose lease runs; rejects when Redis could not be read. */
  async state(pub: Redis | Cluster, roomId: string): Promise<ClusterPresenceEntry[]> {
    const pairs = (await (pub as unknown as PresenceCommands).readPresenceShares(
      this.channels.presenceNodes(roomId),
      this.channels.presenceSharePrefix(roomId),
    )) as string[];
    const users = new Map<string, ClusterPresenceEntry>();
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const share = parseShareValue(pairs[i + 1]);
      if (share === undefined) continue;
      const entry = users.get(pairs[i]);
      if (entry) entry.connections += share.connections;
      else users.set(pairs[i], { user_id: pairs[i], username: share.username, connections: share.connections });
    }
    return [...users.values()];
  }

  /**
   * The heartbeat: renews this node's lease on each of its shares, writing again those that are
   * gone. One round trip per room (pipelined by ioredis), so a node's heartbeat costs in
   * proportion to the rooms it has users in.
   */
  async renew(pub: Redis | Cluster): Promise<void> {
    const commands = pub as unknown as PresenceCommands;
    const stale = new Set(this.stale);
    this.stale.clear();
    const writes = [...stale].map((roomId) => this.writeShare(pub, roomId));
    const renewals = [...this.local.keys()]
      .filter((roomId) => !stale.has(roomId))
      .map(async (roomId) => {
        const renewed = await commands.renewPresenceShare(
          this.channels.presenceShare(roomId, this.nodeId),
          this.channels.presenceNodes(roomId),
          this.nodeId,
          this.ttl,
        );
        if (Number(renewed) === 0) await this.writeShare(pub, roomId);
      });
    if (this.local.size > 0) {
      renewals.push(pub.pexpire(this.channels.nodePresence(this.nodeId), this.ttl * 2).then(() => undefined));
    }
    await Promise.all([...writes, ...renewals]);
  }

  /** Writes every share of this node again (Redis is back: what changed meanwhile was not written). */
  async rewrite(pub: Redis | Cluster): Promise<void> {
    const rooms = [...new Set([...this.local.keys(), ...this.stale])];
    this.stale.clear();
    await Promise.all(rooms.map((roomId) => this.writeShare(pub, roomId)));
  }

  /**
   * Removes every share of `node` (dead, or this one leaving), announcing `presence_diff` leaves
   * for its users that are on no other live node. Returns how many entries it removed.
   */
  async purge(pub: Redis | Cluster, node: string): Promise<number> {
    const rooms = await pub.smembers(this.channels.nodePresence(node));
    let removed = 0;
    for (const roomId of rooms) {
      const share = await pub.hgetall(this.channels.presenceShare(roomId, node));
      for (const [userId, value] of Object.entries(share)) {
        const username = parseShareValue(value)?.username ?? userId;
        const diff = presenceDiffJson(roomId, 'leaves', userId, username);
        await this.setShare(pub, node, roomId, userId, '', diff, '', false);
        removed++;
      }
    }
    await pub.del(this.channels.nodePresence(node));
    if (node === this.nodeId) this.local.clear();
    return removed;
  }

  private async setShare(
    pub: Redis | Cluster,
    node: string,
    roomId: string,
    userId: string,
    value: string,
    diff: string | undefined,
    exceptConnectionId: string,
    own: boolean,
  ): Promise<void> {
    // The publication names this node as its origin: the connection to leave out is one of its own.
    const publication = diff === undefined ? '' : roomHeader('P', this.nodeId, exceptConnectionId || undefined) + diff;
    await (pub as unknown as PresenceCommands).setPresenceShare(
      this.channels.presenceShare(roomId, node),
      this.channels.presenceNodes(roomId),
      node,
      userId,
      value,
      this.ttl,
      this.channels.presenceSharePrefix(roomId),
      this.channels.room(roomId),
      publication,
      own ? '1' : '0',
      this.publishCommand.toUpperCase(),
    );
  }

  /** Replaces this node's share of the room with `local` (and its entry in the node's registry). */
  private async writeShare(pub: Redis | Cluster, roomId: string): Promise<void> {
    const registry = this.channels.nodePresence(this.nodeId);
    try {
      if (this.local.has(roomId)) await pub.sadd(registry, roomId);
      // Read after the await: what the node holds now is what the share must say.
      const users = this.local.get(roomId);
      await (pub as unknown as PresenceCommands).writePresenceShare(
        this.channels.presenceShare(roomId, this.nodeId),
        this.channels.presenceNodes(roomId),
        this.nodeId,
        this.ttl,
        ...[...(users ?? [])].flat(),
      );
      if (users === undefined) await pub.srem(registry, roomId);
    } catch (error) {
      this.stale.add(roomId);
      throw error;
    }
  }
}

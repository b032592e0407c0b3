import type { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import type { ClusterPresenceEntry } from '../cluster.adapter.js';
import type { ClusterChannels } from '../cluster-channels.js';
import { roomHeader } from '../cluster-publication.js';
import { presenceDiffJson } from '../../protocol/presence-diff.js';
import { KeepSchedule } from './keep-schedule.js';
import type { LiveNodes } from './live-nodes.js';

/**
 * Lua shared by the scripts below: Redis's own clock in ms; the keep of a node's share — its TTL,
 * and the room's node index's, which are only garbage collection now (a share counts while its
 * node is live, see RedisPresence) — with the time of the node's write in the index; and the
 * nodes of a room whose shares count.
 */
const SHARED = `
local function nowMs()
  local t = redis.call('TIME')
  return t[1] * 1000 + math.floor(t[2] / 1000)
end
local function keep(share, index, node, ttl, now)
  redis.call('PEXPIRE', share, ttl)
  redis.call('ZADD', index, now, node)
  redis.call('PEXPIRE', index, ttl)
end
-- The nodes in the room's index whose shares count: live in the caller's view (the ARGV from
-- position "from" on), or having written their share after "since" (a node newer than that
-- view). With a share key prefix as "prune", the entries of the other nodes whose share is gone
-- (expired: a dead node nobody purged) leave the index.
local function counted(index, since, from, prune)
  local live = {}
  for i = from, #ARGV do live[ARGV[i]] = true end
  local nodes = {}
  local entries = redis.call('ZRANGE', index, 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    local node = entries[i]
    if live[node] or tonumber(entries[i + 1]) > since then
      nodes[#nodes + 1] = node
    elseif prune and redis.call('EXISTS', prune .. node) == 0 then
      redis.call('ZREM', index, node)
    end
  end
  return nodes
end
`;

/**
 * Sets (or, with an empty value, removes) a user's entry in a node's share of a room's presence.
 * When the node writes its own share (ARGV[8] '1'), the share's keep is set and its write time
 * recorded in the room's node index. ARGV[7] is a `presence_diff` publication (header and frame)
 * to send when the user is in no other counted node's share: the change of this share made the
 * user arrive in or leave the room cluster-wide. One script in the room's slot, so two nodes
 * cannot both (or neither) announce one user.
 * Returns 1 when it published, 2 when it added the user to the node's own share with nothing to
 * publish, 0 otherwise. A 2 for another tab of a user (the node counted the user already) means
 * the share had lost the user — a purge by a node that took this one for dead, which announced
 * the user leaving — and the user is to be announced again (see RedisPresence.unannounced).
 * KEYS: share, node index. ARGV: node id, user id, value, nodeTimeout ms, share key prefix,
 * channel, publication or '', own share '1'/'0', publish command, keep ms, then the live nodes.
 */
const SET_SHARE = `${SHARED}
local ms = nowMs()
local had = redis.call('HEXISTS', KEYS[1], ARGV[2])
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[2]) else redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
elseif ARGV[8] == '1' then
  keep(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[10]), ms)
end
if ARGV[7] == '' then
  if had == 0 and ARGV[3] ~= '' and ARGV[8] == '1' then return 2 end
  return 0
end
for _, node in ipairs(counted(KEYS[2], ms - tonumber(ARGV[4]), 11, ARGV[5])) do
  if node ~= ARGV[1] and redis.call('HEXISTS', ARGV[5] .. node, ARGV[2]) == 1 then return 0 end
end
redis.call(ARGV[9], ARGV[6], ARGV[7])
return 1
`;

/**
 * Renews the keep of a node's share of a room's presence (rarely: garbage collection, not
 * liveness). 0 when the share is gone (lost by Redis, or purged while the node was cut off):
 * the node then writes it again. KEYS: share, node index. ARGV: node id, keep ms.
 */
const KEEP_SHARE = `${SHARED}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
keep(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), nowMs())
return 1
`;

/**
 * Replaces a node's share of a room's presence with what the node holds (after an outage, a
 * failed write, or a share found gone). Publishes nothing, but returns the users whose entry the
 * write added or removed, each with its entry before ('' when it had none): what Redis had of
 * this node's users differed from what the node holds — changes made while Redis was away, or a
 * purge by a node that took this one for dead, which announced the users leaving — so those
 * users are to be announced again (see RedisPresence.unannounced).
 * KEYS: share, node index. ARGV: node id, keep ms, then user id and value pairs.
 */
const WRITE_SHARE = `${SHARED}
local before = {}
local old = redis.call('HGETALL', KEYS[1])
for i = 1, #old, 2 do before[old[i]] = old[i + 1] end
redis.call('DEL', KEYS[1])
local changed = {}
for i = 3, #ARGV, 2 do
  if before[ARGV[i]] then
    before[ARGV[i]] = nil
  else
    changed[#changed + 1] = ARGV[i]
    changed[#changed + 1] = ''
  end
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
for user, value in pairs(before) do
  changed[#changed + 1] = user
  changed[#changed + 1] = value
end
if #ARGV < 4 then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  keep(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), nowMs())
end
return changed
`;

/**
 * The shares of a room's presence that count, as user id and value pairs.
 * KEYS: node index. ARGV: share key prefix, nodeTimeout ms, then the live nodes.
 */
const READ_SHARES = `${SHARED}
local out = {}
for _, node in ipairs(counted(KEYS[1], nowMs() - tonumber(ARGV[2]), 3, false)) do
  local fields = redis.call('HGETALL', ARGV[1] .. node)
  for i = 1, #fields do out[#out + 1] = fields[i] end
end
return out
`;

interface PresenceCommands {
  setPresenceShare(...args: (string | number)[]): Promise<unknown>;
  keepPresenceShare(...args: (string | number)[]): Promise<unknown>;
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
 * the room with their connections there, and the node's entry in the room's node index. A room's
 * presence is the sum of the shares whose *node is live* — renewed in the node table within
 * `nodeTimeout` ({@link LiveNodes}, this node's view of the table at its latest heartbeat) — or
 * that their node wrote within `nodeTimeout` (by Redis's clock, in the room's slot: a node newer
 * than the view). So a node that dies without a goodbye (SIGKILL, a lost host) drops out of every
 * room's presence once its heartbeats are `nodeTimeout` old (seen at the readers' next heartbeat),
 * whether or not another node is there to purge it; the node that does purge it (see
 * RedisNodeRegistry's heartbeat) also announces its users' leaves.
 *
 * Liveness is the node's, not the share's: idle, a node costs Redis one heartbeat and a few
 * commands per heartbeat, however many rooms it is in. A share's TTL (its keep) is only garbage
 * collection for a dead node nobody purged, renewed once per renewal period ({@link KeepSchedule}),
 * spread over the heartbeats.
 *
 * A node writes its share as absolute values, from what it holds (`local`): writing it again is
 * harmless, which is how it recovers from an outage or a lost key.
 */
export class RedisPresence {
  /** This node's share of each room's presence, as written to Redis: room → user → value. */
  private readonly local = new Map<string, Map<string, string>>();
  /** Rooms whose share in Redis may differ from `local` (a write failed or was skipped). */
  private readonly stale = new Set<string>();
  /**
   * Room → user → username: changes whose `presence_diff` may never have been published, to be
   * announced (again) after the share is written (see announceMissed). Those whose write failed
   * while Redis was up (a command timed out under load), and those a write found Redis to hold
   * otherwise than this node (see WRITE_SHARE and SET_SHARE): made while Redis was away, or
   * purged by a node that took this one for dead (starved of CPU for `nodeTimeout`),
   * which announced them leaving although they stayed. Without this, that purge left every
   * member's list short of this node's users for good (a two-node join storm under load ended
   * with all 1 500 lists at ~1 000).
   */
  private readonly unannounced = new Map<string, Map<string, string>>();
  /**
   * When the keeps of the shares of `local`'s rooms are due; its `ttl` is a share's keep (and its
   * node's room registry's).
   */
  private readonly kept: KeepSchedule<string>;
  /**
   * Milliseconds added to every keep once this node hands over at a drain (see handOver): its
   * heartbeats until it stops must not shorten the keeps the hand-over set.
   */
  private keepExtra = 0;

  constructor(
    private readonly channels: ClusterChannels,
    private readonly nodeId: string,
    /** Milliseconds a node counts as live after its last heartbeat. */
    private readonly nodeTimeout: number,
    heartbeatInterval: number,
    /** This node's view of the live nodes, refreshed at each heartbeat by the node registry. */
    private readonly live: LiveNodes,
    private readonly publishCommand: string,
    private readonly logger: Logger,
  ) {
    this.kept = new KeepSchedule(nodeTimeout, heartbeatInterval);
  }

  /** What a keep set now lasts (the TTL of a share and of its node's room registry). */
  private get keepTtl(): number {
    return this.kept.ttl + this.keepExtra;
  }

  static define(client: Redis | Cluster): void {
    client.defineCommand('setPresenceShare', { numberOfKeys: 2, lua: SET_SHARE });
    client.defineCommand('keepPresenceShare', { numberOfKeys: 2, lua: KEEP_SHARE });
    client.defineCommand('writePresenceShare', { numberOfKeys: 2, lua: WRITE_SHARE });
    client.defineCommand('readPresenceShares', { numberOfKeys: 1, lua: READ_SHARES });
  }

  /**
   * Records this node's share of a user in a room and writes it, with `diff` for when the user
   * arrived or left cluster-wide. Every command is issued before this returns, so that changes to
   * one room reach Redis in the order they were made. Kept while Redis is away or a write fails:
   * the room's share is then written again in full (see beat and rewrite).
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
      this.kept.forget(roomId);
      if (ready) pub.srem(registry, roomId).catch(() => undefined);
    }
    if (!ready) {
      this.stale.add(roomId);
      return Promise.resolve();
    }
    return this.setShare(pub, this.nodeId, roomId, userId, value, diff, exceptConnectionId ?? '', true).then(
      (result) => {
        // Another tab of a user the share had lost (see SET_SHARE): announced at the next heartbeat.
        // (A first connection in a room with presence off is written without a diff too.)
        if (result === 2 && connections > 1) this.unannouncedIn(roomId).set(userId, username);
        this.keptNow(roomId);
      },
      (error: Error) => {
        this.stale.add(roomId);
        if (diff !== undefined) this.unannouncedIn(roomId).set(userId, username);
        this.logger.warn(`presence update failed (written again at the next heartbeat): ${error.message}`);
      },
    );
  }

  /** The room's presence over every share that counts; rejects when Redis could not be read. */
  async state(pub: Redis | Cluster, roomId: string): Promise<ClusterPresenceEntry[]> {
    const pairs = (await (pub as unknown as PresenceCommands).readPresenceShares(
      this.channels.presenceNodes(roomId),
      this.channels.presenceSharePrefix(roomId),
      this.nodeTimeout,
      ...this.live.ids,
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
   * This node's part of the heartbeat: writes again the shares that may differ from `local`,
   * renews its room registry (one command; gone, it means the shares went too — a flush, a purge
   * while this node was cut off — and all are written again), and the keeps that are due. Nothing
   * per room otherwise: liveness is the node table's.
   */
  async beat(pub: Redis | Cluster): Promise<void> {
    const stale = new Set(this.stale);
    this.stale.clear();
    const work: Promise<unknown>[] = [...stale].map((roomId) => this.writeShare(pub, roomId));
    if (this.local.size > 0) {
      const registry = pub.pexpire(this.channels.nodePresence(this.nodeId), this.keepTtl);
      work.push(registry.then((kept) => (kept === 0 ? this.rewriteAll(pub, stale) : this.renewKeeps(pub, stale))));
    }
    await Promise.all(work);
    await this.announceMissed(pub);
  }

  /**
   * The changes whose write failed (see unannounced), written again one user at a time with the
   * `presence_diff` of where the user stands on this node now: published, as any change, only if
   * no other counted share has the user. A write that did reach Redis before it timed out is
   * announced twice: a join or a leave applied again changes nothing for a member's set.
   */
  private async announceMissed(pub: Redis | Cluster): Promise<void> {
    const missed = [...this.unannounced].flatMap(([roomId, users]) =>
      [...users].map(([userId, username]) => ({ roomId, userId, username })),
    );
    this.unannounced.clear();
    await Promise.all(
      missed.map(async ({ roomId, userId, username }) => {
        const value = this.local.get(roomId)?.get(userId) ?? '';
        const diff = presenceDiffJson(roomId, value === '' ? 'leaves' : 'joins', userId, username);
        try {
          await this.setShare(pub, this.nodeId, roomId, userId, value, diff, '', true);
        } catch (error) {
          // Still missed: the next heartbeat tries again (unless a newer change was recorded).
          const users = this.unannouncedIn(roomId);
          if (!users.has(userId)) users.set(userId, username);
          throw error;
        }
      }),
    );
  }

  /** The room's changes still to announce (see unannounced), made on first use. */
  private unannouncedIn(roomId: string): Map<string, string> {
    let users = this.unannounced.get(roomId);
    if (users === undefined) this.unannounced.set(roomId, (users = new Map()));
    return users;
  }

  /**
   * Writes every share of this node again (Redis is back: what changed meanwhile was not written,
   * nor announced), then announces the users whose presence that changed.
   */
  async rewrite(pub: Redis | Cluster): Promise<void> {
    const rooms = [...new Set([...this.local.keys(), ...this.stale])];
    this.stale.clear();
    await Promise.all(rooms.map((roomId) => this.writeShare(pub, roomId)));
    await this.announceMissed(pub);
  }

  /**
   * This node hands its users over at a drain and stays live `grace` ms after it stops (see
   * RedisClusterAdapterOptions.handOverGrace): its shares must outlast that, whatever their
   * renewal had left of their keep, for the node that purges it then to find them. Shares whose
   * last write failed are written first, so what is kept is what the node held.
   */
  async handOver(pub: Redis | Cluster, grace: number): Promise<void> {
    this.keepExtra = Math.max(this.keepExtra, grace);
    const stale = new Set(this.stale);
    this.stale.clear();
    await Promise.all([...stale].map((roomId) => this.writeShare(pub, roomId)));
    await Promise.all([
      pub.pexpire(this.channels.nodePresence(this.nodeId), this.keepTtl),
      ...[...this.local.keys()].map((roomId) => this.keepShare(pub, roomId)),
    ]);
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
    if (node === this.nodeId) {
      this.local.clear();
      this.kept.clear();
      this.unannounced.clear();
    }
    return removed;
  }

  /** The room's share was written with a fresh keep: its renewal is due a period from now. */
  private keptNow(roomId: string): void {
    if (this.local.has(roomId)) this.kept.keptNow(roomId);
    else this.kept.forget(roomId);
  }

  /** Every share written again, but those already being written (`skip`). */
  private async rewriteAll(pub: Redis | Cluster, skip: ReadonlySet<string>): Promise<void> {
    await Promise.all([...this.local.keys()].filter((roomId) => !skip.has(roomId)).map((r) => this.writeShare(pub, r)));
  }

  /** Renews the keeps that are due (see KeepSchedule.due), but of the rooms being written (`skip`). */
  private async renewKeeps(pub: Redis | Cluster, skip: ReadonlySet<string>): Promise<void> {
    const due = this.kept.due(skip);
    await Promise.all(
      due.map(async (roomId) => {
        if (!(await this.keepShare(pub, roomId))) await this.writeShare(pub, roomId);
        else this.keptNow(roomId);
      }),
    );
  }

  /** Renews the keep of this node's share of the room (keepTtl); false when the share is gone. */
  private async keepShare(pub: Redis | Cluster, roomId: string): Promise<boolean> {
    const kept = await (pub as unknown as PresenceCommands).keepPresenceShare(
      this.channels.presenceShare(roomId, this.nodeId),
      this.channels.presenceNodes(roomId),
      this.nodeId,
      this.keepTtl,
    );
    return Number(kept) !== 0;
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
  ): Promise<number> {
    // The publication names this node as its origin: the connection to leave out is one of its own.
    const publication = diff === undefined ? '' : roomHeader('P', this.nodeId, exceptConnectionId || undefined) + diff;
    const result = await (pub as unknown as PresenceCommands).setPresenceShare(
      this.channels.presenceShare(roomId, node),
      this.channels.presenceNodes(roomId),
      node,
      userId,
      value,
      this.nodeTimeout,
      this.channels.presenceSharePrefix(roomId),
      this.channels.room(roomId),
      publication,
      own ? '1' : '0',
      this.publishCommand.toUpperCase(),
      this.keepTtl,
      ...this.live.ids,
    );
    return Number(result);
  }

  /**
   * Replaces this node's share of the room with `local` (and its entry in the node's registry);
   * the users whose entry that added or removed are to be announced (see WRITE_SHARE).
   */
  private async writeShare(pub: Redis | Cluster, roomId: string): Promise<void> {
    const registry = this.channels.nodePresence(this.nodeId);
    try {
      if (this.local.has(roomId)) await pub.sadd(registry, roomId);
      // Read after the await: what the node holds now is what the share must say.
      const users = this.local.get(roomId);
      const changed = (await (pub as unknown as PresenceCommands).writePresenceShare(
        this.channels.presenceShare(roomId, this.nodeId),
        this.channels.presenceNodes(roomId),
        this.nodeId,
        this.keepTtl,
        ...[...(users ?? [])].flat(),
      )) as string[];
      for (let i = 0; i + 1 < changed.length; i += 2) {
        const userId = changed[i];
        const value = users?.get(userId) ?? changed[i + 1];
        // In a room with presence off too (this node does not know its settings): what is
        // published there reaches no member (PresenceWindows.deliver), and only after a loss.
        this.unannouncedIn(roomId).set(userId, parseShareValue(value)?.username ?? userId);
      }
      if (users === undefined) await pub.srem(registry, roomId);
      this.keptNow(roomId);
    } catch (error) {
      this.stale.add(roomId);
      throw error;
    }
  }
}

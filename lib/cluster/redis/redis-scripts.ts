import type { Cluster, Redis } from 'ioredis';

/*
 * The Lua scripts of the Redis adapter: each step that must be atomic (sequencing and recording
 * a room broadcast, reading a room's position or history, counting a node's members, a node's
 * heartbeat) is one script, run where the keys live. (Presence has its own, in redis-presence.ts.)
 */

/**
 * Sequences a room broadcast, appends it to the room's history and publishes it in one atomic
 * step, so that every node receives a room's frames in `seq` order and a replay read at any time
 * agrees with what was published. The frame is assembled here from the parts around `seq` and
 * `epoch`: one serialization per message, done by the publisher. A missing epoch key means the
 * room's history was lost (new room, FLUSHALL, restart without persistence): a new epoch starts
 * and whatever history is left over from before goes.
 *
 * The history is trimmed exactly, to `size` entries and `maxBytes` bytes of frames (a counter
 * beside the stream), oldest first: a room of big messages cannot grow Redis past its cap, and
 * what is held is always a gap-free run of seqs up to the latest. Usually one entry goes per
 * entry added, so the loop is O(1) amortized.
 * KEYS: seq, epoch, history, history bytes. ARGV: channel, new epoch, header, prefix, middle,
 * suffix, publish command, history size, history ttl ms, position ttl ms, history max bytes.
 */
export const PUBLISH_ROOM = `
local seq = redis.call('INCR', KEYS[1])
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', KEYS[2], epoch)
  redis.call('DEL', KEYS[3], KEYS[4])
end
local size = tonumber(ARGV[8])
if size > 0 then
  local now = redis.call('TIME')
  local ms = now[1] * 1000 + math.floor(now[2] / 1000)
  local added = redis.pcall('XADD', KEYS[3], seq .. '-0', 't', ms, 'f', ARGV[4] .. seq .. ARGV[5] .. epoch .. ARGV[6])
  if type(added) == 'table' and added.err then
    -- An entry at or above this seq: the counter was lost (evicted) while the history was not.
    -- Positions under the old epoch mean nothing now: a new epoch, a new history.
    epoch = ARGV[2]
    redis.call('SET', KEYS[2], epoch)
    redis.call('DEL', KEYS[3], KEYS[4])
    redis.call('XADD', KEYS[3], seq .. '-0', 't', ms, 'f', ARGV[4] .. seq .. ARGV[5] .. epoch .. ARGV[6])
  end
  local length = redis.call('XLEN', KEYS[3])
  local bytes = redis.call('INCRBY', KEYS[4], #ARGV[4] + #tostring(seq) + #ARGV[5] + #epoch + #ARGV[6])
  local maxBytes = tonumber(ARGV[11])
  while length > size or (bytes > maxBytes and length > 0) do
    local oldest = redis.call('XRANGE', KEYS[3], '-', '+', 'COUNT', 1)[1]
    redis.call('XDEL', KEYS[3], oldest[1])
    bytes = redis.call('DECRBY', KEYS[4], #oldest[2][4])
    length = length - 1
  end
  redis.call('PEXPIRE', KEYS[3], ARGV[9])
  redis.call('PEXPIRE', KEYS[4], ARGV[9])
end
local frame = ARGV[4] .. seq .. ARGV[5] .. epoch .. ARGV[6]
redis.call('PEXPIRE', KEYS[1], ARGV[10])
redis.call('PEXPIRE', KEYS[2], ARGV[10])
redis.call(ARGV[7], ARGV[1], ARGV[3] .. frame)
return {seq, epoch}
`;

/**
 * A room's position, starting its epoch if it has none (a client that joins an empty room gets a
 * position it can resume from). An epoch made here expires sooner than one a broadcast keeps
 * alive, so that joins of rooms nobody ever writes to leave nothing behind for long.
 * KEYS: seq, epoch. ARGV: new epoch, ttl ms of a new epoch.
 */
const ROOM_POSITION = `
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch, 'PX', ARGV[2])
end
return {tonumber(redis.call('GET', KEYS[1]) or '0'), epoch}
`;

/**
 * A room's position and one chunk of its history after a seq, read atomically, without entries
 * older than the ttl: entries up to `to` (0: the room's seq) until `max bytes` of frames are
 * reached (at least one entry). Read a few entries at a time, so a call costs about one chunk
 * whatever the size of the stream. KEYS: seq, epoch, history. ARGV: after seq, ttl ms, max
 * bytes, to. Returns {seq, epoch or false, seq1, frame1, seq2, frame2, ...}.
 */
const ROOM_HISTORY = `
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local epoch = redis.call('GET', KEYS[2])
local after = tonumber(ARGV[1])
local out = {seq, epoch}
local last = seq
local to = tonumber(ARGV[4])
if to > 0 and to < last then last = to end
if not epoch or after >= last then return out end
local now = redis.call('TIME')
local oldest = now[1] * 1000 + math.floor(now[2] / 1000) - tonumber(ARGV[2])
local budget = tonumber(ARGV[3])
local bytes = 0
local cursor = after + 1
while cursor <= last and bytes < budget do
  local batch = redis.call('XRANGE', KEYS[3], cursor .. '-0', last .. '-0', 'COUNT', 8)
  if #batch == 0 then break end
  for _, entry in ipairs(batch) do
    local fields = entry[2]
    local at = tonumber(string.match(entry[1], '^(%d+)'))
    cursor = at + 1
    if tonumber(fields[2]) >= oldest then
      out[#out + 1] = at
      out[#out + 1] = fields[4]
      bytes = bytes + #fields[4]
      if bytes >= budget then break end
    end
  end
end
return out
`;

/**
 * A counter field of a hash changes by ARGV[2]; a field that reaches exactly 0 is deleted, so a
 * node's hashes hold only what is there (rooms and presences come and go by the thousand). Not
 * below 0: should a -1 ever land before its +1, the pair still ends at no field at all. The hash
 * gets the node's key lease (ARGV[3] ms) from its first field on, not only at the next heartbeat.
 * KEYS: hash. ARGV: field, delta, ttl ms.
 */
const COUNT_FIELD = `
local total = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if total == 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return total
`;

/**
 * A node's heartbeat in the node table, scored by Redis's clock, and the table as it stands at
 * that instant: the live nodes (renewed within the timeout) and the dead ones (to purge). Every
 * score is written and judged by this one clock, whatever the nodes' own clocks say; the live
 * nodes are what the presence scripts count the shares of (see LiveNodes).
 *
 * A node handing over at a drain beats once more with a score `ahead` ms in the future: it stays
 * live that much longer after it stops (see RedisClusterAdapterOptions.handOverGrace). A score is
 * never moved back, so a heartbeat still in flight when the node stopped cannot cut the grace short.
 * KEYS: node table. ARGV: node id, timeout ms, ahead ms. Returns {live node ids, dead node ids}.
 */
const NODE_BEAT = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local since = now - tonumber(ARGV[2])
local at = now + tonumber(ARGV[3])
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) < at then redis.call('ZADD', KEYS[1], at, ARGV[1]) end
return {redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. since, '+inf'), redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', since)}
`;

/**
 * Which of the given nodes are live in the node table now (renewed within the timeout), by
 * Redis's clock like NODE_BEAT; every live node when none is given.
 * KEYS: node table. ARGV: timeout ms, then node ids.
 */
const LIVE_NODES = `
local t = redis.call('TIME')
local since = t[1] * 1000 + math.floor(t[2] / 1000) - tonumber(ARGV[1])
if #ARGV == 1 then return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. since, '+inf') end
local out = {}
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) > since then out[#out + 1] = ARGV[i] end
end
return out
`;

/** The scripts above as commands of a client (see defineScripts). */
export interface ScriptCommands {
  roomPosition(...args: (string | number)[]): Promise<unknown>;
  roomHistory(...args: (string | number)[]): Promise<unknown>;
  publishRoom(...args: (string | number)[]): Promise<unknown>;
  countField(key: string, field: string, delta: number, ttl: number): Promise<unknown>;
  nodeBeat(nodes: string, nodeId: string, timeout: number, ahead: number): Promise<unknown>;
  liveNodes(nodes: string, timeout: number, ...nodeIds: string[]): Promise<unknown>;
}

/** Defines the scripts on a client (ioredis runs them with EVALSHA, loading them when missing). */
export function defineScripts(client: Redis | Cluster): void {
  client.defineCommand('publishRoom', { numberOfKeys: 4, lua: PUBLISH_ROOM });
  client.defineCommand('roomPosition', { numberOfKeys: 2, lua: ROOM_POSITION });
  client.defineCommand('roomHistory', { numberOfKeys: 3, lua: ROOM_HISTORY });
  client.defineCommand('countField', { numberOfKeys: 1, lua: COUNT_FIELD });
  client.defineCommand('nodeBeat', { numberOfKeys: 1, lua: NODE_BEAT });
  client.defineCommand('liveNodes', { numberOfKeys: 1, lua: LIVE_NODES });
}

/** A client with the scripts defined. */
export function scripts(client: Redis | Cluster): ScriptCommands {
  return client as unknown as ScriptCommands;
}

// Presence `leave` workload: everyone leaves at once, as a herd of tabs and devices dropping (a
// network cut, a laptop lid, a deploy of the page). `clients` authenticated clients, each in
// `roomsPerClient` of `rooms` rooms with presence on, on nodes sharing a redis-server of the
// benchmark's own (one node too: the failed writes are Redis's), plus `observers` clients in every
// room that stay. Once the joins have settled, every client's socket is terminated at once.
// Measured from the terminate: the presence writes that failed (the nodes' log lines), the time
// until the rooms' presence in Redis holds only the observers and Redis is quiet, the nodes' and
// the redis-server's CPU and commands over that time, and the presence frames the observers got
// per leave. Then the end state is checked (every room's presence is exactly the observers, in
// Redis and in `presence_state`), and once the observers leave too, that no presence key is left.
import { cpu, openAll, redisCommands } from '../presence.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The sample's cluster prefix (RedisClusterAdapter's default), see lib/cluster/cluster-channels.ts. */
const PREFIX = 'nest-realtime';
/** A node's share of a room's presence: `prefix:presence:{room}:node:<id>` (a hash of users). */
const SHARES = `${PREFIX}:presence:*`;
/**
 * Every presence key: the shares, the rooms' node index (`presence-members`, `presence-nodes` in
 * earlier builds), the nodes' room registries (`node-presence-rooms`, `node-presence` earlier).
 */
const PRESENCE_KEYS = [`${PREFIX}:presence*`, `${PREFIX}:node-presence*`];
/**
 * The log line of a presence write that failed (RedisPresence.changed, lib/cluster/redis/
 * redis-presence.ts), and ioredis's / the patient deadline's error of a command that timed out
 * (a failed presence write under load says both).
 */
const WRITE_FAILED = /presence update failed/;
const TIMED_OUT = /Command timed out/;
/** Quiet: a whole second with no more Redis commands than the heartbeats' (measured idle). */
const QUIET_WINDOW_MS = 1000;
const POLL_MS = 200;

/**
 * What the benchmark asks Redis while it watches, counted per command so that it can be taken
 * out of INFO commandstats (its CPU cannot: a SCAN and a few hundred HLEN every poll).
 */
function watcher(redis) {
  const own = {};
  const call = (command, ...args) => {
    own[command] = (own[command] ?? 0) + 1;
    return redis.call(command, ...args);
  };
  /** Keys matching `pattern` (SCAN: never blocks Redis as KEYS would). */
  const keys = async (pattern) => {
    const found = [];
    let cursor = '0';
    do {
      const [next, batch] = await call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 10_000);
      found.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return found;
  };
  /** Entries over every node's share of every room. */
  const entries = async () => {
    const lengths = await Promise.all((await keys(SHARES)).map((key) => call('HLEN', key)));
    return lengths.reduce((sum, n) => sum + n, 0);
  };
  /** Commands of the nodes since the last CONFIG RESETSTAT: all of them but the benchmark's own. */
  const commands = async () => {
    const stats = await redisCommands(redis);
    for (const [name, n] of Object.entries(own)) {
      const key = name.toLowerCase();
      stats.calls -= n;
      if (stats.byCommand[key] !== undefined) stats.byCommand[key] -= n;
    }
    return stats;
  };
  return { call, keys, entries, commands, own };
}

/**
 * Polls until the shares hold `expected` entries and then a window of `QUIET_WINDOW_MS` sees at
 * most `quietCommands` commands of the nodes; returns when the entries were first right and
 * when the quiet window began (ms since `since`), or throws after `timeoutMs` of polling.
 */
async function settle(watch, expected, quietCommands, since, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  let reachedAt;
  let windowStart;
  let windowCommands;
  while (Date.now() < deadline) {
    const [entries, { calls }] = await Promise.all([watch.entries(), watch.commands()]);
    const now = Date.now();
    if (entries !== expected) {
      reachedAt = undefined;
      windowStart = undefined;
    } else if (reachedAt === undefined || calls - windowCommands > quietCommands) {
      reachedAt ??= now;
      windowStart = now;
      windowCommands = calls;
    } else if (now - windowStart >= QUIET_WINDOW_MS) {
      return { reachedMs: reachedAt - since, quietMs: windowStart - since };
    }
    await sleep(POLL_MS);
  }
  throw new Error(`presence did not settle at ${expected} entries within ${timeoutMs} ms`);
}

/** Counts an observer's presence frames and the leaves they list; answers `presence` requests. */
function observe(ws, stats) {
  const states = new Map();
  ws.on('message', (raw) => {
    const text = raw.toString();
    if (!text.startsWith('{"type":"presence')) return;
    if (text.startsWith('{"type":"presence_diff"')) {
      stats.diffs++;
      stats.listedLeaves += JSON.parse(text).data.leaves.length;
    } else if (text.startsWith('{"type":"presence_reset"')) {
      stats.resets++;
    } else if (text.startsWith('{"type":"presence_state"')) {
      const { data } = JSON.parse(text);
      states.get(data.room_id)?.(data.users.map((user) => user.user_id));
    }
  });
  /** The room's users, as `presence_state` gives them to this observer. */
  return (roomId) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no presence_state for ${roomId}`)), 30_000);
      states.set(roomId, (users) => {
        clearTimeout(timer);
        states.delete(roomId);
        resolve(users);
      });
      ws.send(JSON.stringify({ type: 'presence', id: 'p', data: { room_id: roomId } }));
    });
}

/** Sends every join of `plan` (socket index → rooms) and resolves once each was answered. */
function joinAll(sockets, plan) {
  let left = plan.reduce((sum, rooms) => sum + rooms.length, 0);
  return new Promise((resolve, reject) => {
    const done = (error) => {
      for (const ws of sockets) ws.off('message', onMessage);
      if (error) reject(error);
      else resolve();
    };
    const onMessage = (raw) => {
      const text = raw.toString();
      if (text.startsWith('{"type":"room_joined"') && --left === 0) done();
      else if (text.startsWith('{"type":"error"')) done(new Error(`a join failed: ${text}`));
    };
    sockets.forEach((ws, i) => {
      ws.on('message', onMessage);
      for (const room of plan[i]) ws.send(JSON.stringify({ type: 'join_room', id: 'j', data: { room_id: room } }));
    });
  });
}

const roomName = (r) => `leave-${r}`;
const count = (nodes, pattern) => nodes.reduce((sum, node) => sum + node.countLines(pattern), 0);

export async function runPresenceLeave(
  nodes,
  { clients = 8000, rooms = 200, roomsPerClient = 10, observers = 4, connect, redis },
) {
  if (!redis) throw new Error('leave needs a redis-server: its failed writes are presence writes to Redis');
  if (roomsPerClient > rooms) throw new Error('roomsPerClient must be at most rooms');
  const watch = watcher(redis);
  const allRooms = Array.from({ length: rooms }, (_, r) => roomName(r));
  // Users 300 000+ observe, 200 000+ leave: ids of their own, whatever else shares the Redis.
  const watching = await openAll(nodes, observers, connect, 300_000);
  const observerIds = new Set(watching.map((_, i) => `user-${300_000 + i}`));
  const stats = { diffs: 0, resets: 0, listedLeaves: 0 };
  const ask = watching.map((ws) => observe(ws, stats));
  await joinAll(
    watching,
    watching.map(() => allRooms),
  );
  // The idle rate of the nodes' commands (heartbeats, renewals), with every room taken: what a
  // quiet second may hold.
  await sleep(1000);
  await redis.call('CONFIG', 'RESETSTAT');
  await sleep(3000);
  const idlePerSecond = (await watch.commands()).calls / 3;
  const quietCommands = Math.ceil(2 * idlePerSecond) + 5;

  const leaving = await openAll(nodes, clients, connect, 200_000);
  // Client i is in rooms i*K .. i*K+K-1 (mod R): every room gets N*K/R of them.
  const plan = leaving.map((_, i) =>
    Array.from({ length: roomsPerClient }, (_, k) => roomName((i * roomsPerClient + k) % rooms)),
  );
  const joinStart = Date.now();
  await joinAll(leaving, plan);
  const joins = await settle(watch, clients * roomsPerClient + rooms * observers, quietCommands, joinStart);
  const failedBefore = count(nodes, WRITE_FAILED);
  const timedOutBefore = count(nodes, TIMED_OUT);

  await redis.call('CONFIG', 'RESETSTAT');
  for (const name of Object.keys(watch.own)) delete watch.own[name];
  const redisCpu0 = await redis.cpuSeconds();
  Object.assign(stats, { diffs: 0, resets: 0, listedLeaves: 0 });
  const generator0 = process.cpuUsage();
  const cpu0 = cpu(nodes);
  const start = Date.now();
  for (const ws of leaving) ws.terminate();
  const { reachedMs, quietMs } = await settle(watch, rooms * observers, quietCommands, start);
  // CPU and commands up to now: the quiet window after the last change is in, as the polling is.
  const cpuSeconds = cpu(nodes) - cpu0;
  const generator = process.cpuUsage(generator0);
  const commands = await watch.commands();
  const redisCpuSeconds = (await redis.cpuSeconds()) - redisCpu0;
  const failedWrites = count(nodes, WRITE_FAILED) - failedBefore;
  const timedOut = count(nodes, TIMED_OUT) - timedOutBefore;

  // The end state, in both builds: every room's presence is the observers, in Redis (only their
  // entries are left, counted above) and as each observer's node answers `presence`.
  for (const [o, presence] of ask.entries()) {
    for (const room of allRooms) {
      const users = await presence(room);
      if (users.length !== observerIds.size || !users.every((id) => observerIds.has(id))) {
        throw new Error(`observer ${o}: ${room} holds ${users.length} users, not the ${observerIds.size} observers`);
      }
    }
  }
  // And once the observers leave too, no presence key is left.
  for (const ws of watching) ws.terminate();
  const emptyDeadline = Date.now() + 30_000;
  let left = Infinity;
  while (left > 0 && Date.now() < emptyDeadline) {
    await sleep(POLL_MS);
    left = (await Promise.all(PRESENCE_KEYS.map((pattern) => watch.keys(pattern)))).flat().length;
  }
  if (left > 0) throw new Error(`${left} presence key(s) left 30 s after everyone left`);

  const leaves = clients * roomsPerClient;
  const frames = stats.diffs + stats.resets;
  return {
    clients,
    leaves,
    joinsSettledMs: joins.quietMs,
    failedPresenceWrites: failedWrites,
    commandsTimedOut: timedOut,
    emptyMs: reachedMs,
    quietMs,
    serverCpuMs: cpuSeconds * 1000,
    serverCpuUsPerLeave: (cpuSeconds * 1e6) / leaves,
    redisCpuMs: redisCpuSeconds * 1000,
    redisCommands: commands.calls,
    redisCommandsPerLeave: commands.calls / leaves,
    redisByCommand: JSON.stringify(commands.byCommand),
    idleCommandsPerSec: idlePerSecond,
    observerFramesPerLeave: frames / (observers * leaves),
    observerResets: stats.resets / observers,
    observerListedLeavesPerLeave: stats.listedLeaves / (observers * leaves),
    generatorCpuMs: (generator.user + generator.system) / 1000,
  };
}

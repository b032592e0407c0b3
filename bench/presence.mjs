// Presence at scale (issue 15, item 5). Two workloads against sample nodes (one, or two sharing a
// redis-server of the benchmark's own), authenticated clients, one user each:
// - storm: `members` clients connect (not measured), then all send `join_room` into one room at
//   once. Measured from the first join until the room is quiet (no presence frame for 2 windows):
//   server CPU of every node, the redis-server's CPU and commands (INFO commandstats), presence
//   frames and bytes the members received, and the time until every observer's view equals the
//   room (observers: `observers` members that joined first, keep a view from `presence_state` and
//   the diffs, and ask `presence` again after a `presence_reset`, as a client showing the list
//   would); then the server's memory, and the size and server time of one `presence_state`.
// - churn: `clients` clients, each in `roomsPerClient` of `rooms` rooms, leave one of their rooms
//   and join another at `rate` joins+leaves per second in all for `durationMs`: server and Redis
//   CPU per join/leave, Redis commands per join/leave, presence frames.
// - leave: everyone leaves at once (lib/presence-leave.mjs).
// Neither Socket.IO nor a raw ws server has presence: the figures are absolute, and the "before"
// column is BENCH_BASELINE's sample (a checkout built before the change) in the same rounds.
import { connectOptions, open } from './echo.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const ROOM = 'presence-storm';

/** Opens `count` authenticated connections over the nodes in turn, at most 200 handshakes at once. */
export async function openAll(nodes, count, connect, first = 0) {
  const sockets = [];
  for (let i = 0; i < count; i += 200) {
    const batch = Array.from({ length: Math.min(200, count - i) }, (_, k) => {
      const index = first + i + k;
      return open(`ws://127.0.0.1:${nodes[index % nodes.length].port}/ws`, connectOptions(connect, index));
    });
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

/** Redis commands and their µs since the last CONFIG RESETSTAT, all commands together. */
export async function redisCommands(redis) {
  if (!redis) return { calls: 0, usec: 0, byCommand: {} };
  const info = await redis.call('INFO', 'commandstats');
  let calls = 0;
  let usec = 0;
  const byCommand = {};
  for (const [, name, c, u] of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+),usec=(\d+)/gm)) {
    if (name === 'info' || name === 'config|resetstat' || name === 'config') continue;
    calls += Number(c);
    usec += Number(u);
    byCommand[name] = Number(c);
  }
  return { calls, usec, byCommand };
}

export const cpu = (nodes) => nodes.reduce((sum, node) => sum + node.cpuSeconds(), 0);

/** The nodes' memory; NaN for a node too busy to report within its 10 s (the build before, flooded). */
const memories = (nodes) => Promise.all(nodes.map((node) => node.memory().catch(() => ({ heapUsed: NaN }))));

/**
 * A member's presence bookkeeping: frames and bytes of `presence_diff` / `presence_reset`, and
 * for observers a view (state, then the diffs received since the request, then later diffs).
 */
function track(ws, observer, stats) {
  const member = { view: observer ? new Set() : undefined, synced: false, pending: [], asking: false, again: false };
  const ask = () => {
    if (member.asking) {
      member.again = true;
      return;
    }
    member.asking = true;
    member.synced = false;
    ws.send(JSON.stringify({ type: 'presence', id: 'p', data: { room_id: ROOM } }));
  };
  const apply = (data) => {
    for (const user of data.joins) member.view.add(user.user_id);
    for (const user of data.leaves) member.view.delete(user.user_id);
  };
  ws.on('message', (raw) => {
    const text = raw.toString();
    // Only presence frames are parsed: the generator shares the machine's 2 cores.
    if (!text.startsWith('{"type":"presence')) return;
    stats.lastPresenceAt = Date.now();
    if (text.startsWith('{"type":"presence_diff"')) {
      stats.diffs++;
      stats.bytes += text.length;
      if (!observer) return;
      const { data } = JSON.parse(text);
      if (member.synced) apply(data);
      else member.pending.push(data);
    } else if (text.startsWith('{"type":"presence_reset"')) {
      stats.resets++;
      stats.bytes += text.length;
      if (observer) ask();
    } else if (text.startsWith('{"type":"presence_state"')) {
      if (!observer) return;
      const { data } = JSON.parse(text);
      stats.stateBytes = Math.max(stats.stateBytes, text.length);
      member.view.clear();
      for (const user of data.users) member.view.add(user.user_id);
      for (const diff of member.pending.splice(0)) apply(diff);
      member.synced = true;
      member.asking = false;
      if (member.again) {
        member.again = false;
        ask();
      }
    }
  });
  member.ask = ask;
  return member;
}

export async function runPresenceStorm(nodes, { members = 10_000, observers = 20, connect, redis, intervalMs = 1000 }) {
  const sockets = await openAll(nodes, members, connect);
  const stats = { diffs: 0, resets: 0, bytes: 0, stateBytes: 0, lastPresenceAt: 0 };
  const tracked = sockets.map((ws, i) => track(ws, i < observers, stats));
  // A member is done when it joined, or when the server closed it (a slow reader: 1013).
  let closed = 0;
  const joinedAll = sockets.map(
    (ws) =>
      new Promise((resolve) => {
        const onJoined = (raw) => {
          if (!raw.toString().startsWith('{"type":"room_joined"')) return;
          ws.off('message', onJoined);
          resolve();
        };
        ws.on('message', onJoined);
        ws.once('close', () => {
          closed++;
          resolve();
        });
      }),
  );
  const join = (i) => sockets[i].send(JSON.stringify({ type: 'join_room', id: 'j', data: { room_id: ROOM } }));
  // Observers first, with their state, before the storm.
  for (let i = 0; i < observers; i++) join(i);
  await Promise.all(joinedAll.slice(0, observers));
  for (let i = 0; i < observers; i++) tracked[i].ask();
  await sleep(2 * intervalMs + 500);
  const memoryBefore = await memories(nodes);
  await redis?.call('CONFIG', 'RESETSTAT');
  const redisCpu0 = redis ? await redis.cpuSeconds() : 0;
  Object.assign(stats, { diffs: 0, resets: 0, bytes: 0 });
  const generator0 = process.cpuUsage();
  const cpu0 = cpu(nodes);
  const start = Date.now();
  for (let i = observers; i < members; i++) join(i);
  await Promise.all(joinedAll);
  const joinedMs = Date.now() - start;
  const observed = tracked.slice(0, observers);
  const joinedAt = Date.now();
  let convergedMs = NaN;
  // Until quiet: no presence frame for 3 windows and no observer waiting for a state (a build
  // without diffs above the limit never converges: it stops there too).
  while (Date.now() - start < 120_000) {
    if (Number.isNaN(convergedMs) && observed.every((m) => m.synced && m.view.size === members - closed)) {
      convergedMs = Date.now() - start;
    }
    const last = Math.max(stats.lastPresenceAt, joinedAt);
    if (Date.now() - last > 3 * intervalMs && observed.every((m) => !m.asking)) break;
    await sleep(20);
  }
  const quietMs = Math.max(stats.lastPresenceAt, joinedAt) - start;
  const cpuSeconds = cpu(nodes) - cpu0;
  const generator = process.cpuUsage(generator0);
  const commands = await redisCommands(redis);
  const redisCpuSeconds = redis ? (await redis.cpuSeconds()) - redisCpu0 : 0;
  const memoryAfter = await memories(nodes);
  // One presence_state of the whole room, asked by the first observer: its size and server time.
  const stateCpu0 = cpu(nodes);
  stats.stateBytes = 0;
  const stateStart = Date.now();
  observed[0].ask();
  const stateDeadline = Date.now() + 30_000;
  while (!observed[0].synced && Date.now() < stateDeadline) await sleep(1);
  const stateMs = Date.now() - stateStart;
  const stateCpuMs = (cpu(nodes) - stateCpu0) * 1000;
  for (const ws of sockets) ws.terminate();
  const heap = (list) => list.reduce((sum, m) => sum + m.heapUsed, 0);
  return {
    members,
    closedMembers: closed,
    joinedMs,
    convergedMs,
    quietMs,
    serverCpuMs: cpuSeconds * 1000,
    serverCpuUsPerJoin: (cpuSeconds * 1e6) / (members - observers),
    redisCpuMs: redisCpuSeconds * 1000,
    redisCommands: commands.calls,
    redisCommandsPerJoin: commands.calls / (members - observers),
    redisByCommand: JSON.stringify(commands.byCommand),
    presenceFrames: stats.diffs + stats.resets,
    presenceFramesPerMember: (stats.diffs + stats.resets) / members,
    presenceResets: stats.resets,
    presenceMBytes: stats.bytes / 1e6,
    heapGrowthMB: (heap(memoryAfter) - heap(memoryBefore)) / 1e6,
    stateKBytes: stats.stateBytes / 1000,
    stateMs,
    stateCpuMs,
    generatorCpuMs: (generator.user + generator.system) / 1000,
  };
}

export async function runPresenceChurn(
  nodes,
  { clients = 2000, rooms = 10_000, roomsPerClient = 5, rate = 2000, durationMs = 5000, connect, redis },
) {
  const sockets = await openAll(nodes, clients, connect, 100_000);
  const stats = { diffs: 0, resets: 0, bytes: 0, stateBytes: 0, lastPresenceAt: 0 };
  for (const ws of sockets) track(ws, false, stats);
  // Client i starts in rooms i*5 .. i*5+4 (mod rooms): every room is taken once at the start.
  const held = sockets.map((_, i) =>
    Array.from({ length: roomsPerClient }, (_, k) => (i * roomsPerClient + k) % rooms),
  );
  const send = (i, type, room) => sockets[i].send(JSON.stringify({ type, data: { room_id: `churn-${room}` } }));
  let joined = 0;
  const allJoined = new Promise((resolve) => {
    const onJoined = (raw) => {
      if (raw.toString().startsWith('{"type":"room_joined"') && ++joined === clients * roomsPerClient) resolve();
    };
    for (const ws of sockets) ws.on('message', onJoined);
  });
  for (let i = 0; i < clients; i++) for (const room of held[i]) send(i, 'join_room', room);
  // Measured once every first join was answered and its Redis writes are done.
  await allJoined;
  await sleep(1500);
  await redis?.call('CONFIG', 'RESETSTAT');
  const redisCpu0 = redis ? await redis.cpuSeconds() : 0;
  Object.assign(stats, { diffs: 0, resets: 0, bytes: 0 });
  const generator0 = process.cpuUsage();
  const cpu0 = cpu(nodes);
  const start = process.hrtime.bigint();
  let operations = 0;
  let n = 0;
  // Open loop: a leave and a join (2 operations) every 2/rate s, from clients in turn.
  while (true) {
    const due = start + BigInt(Math.round(((n * 2 * 1000) / rate) * 1e6));
    const now = process.hrtime.bigint();
    if (now - start >= BigInt(durationMs) * 1_000_000n) break;
    if (now < due) {
      await sleep(Math.max(0, Number(due - now) / 1e6));
      continue;
    }
    const i = n % clients;
    const slot = Math.floor(n / clients) % roomsPerClient;
    send(i, 'leave_room', held[i][slot]);
    held[i][slot] = Math.floor(Math.random() * rooms);
    send(i, 'join_room', held[i][slot]);
    operations += 2;
    n++;
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  await sleep(1500);
  const cpuSeconds = cpu(nodes) - cpu0;
  const generator = process.cpuUsage(generator0);
  const commands = await redisCommands(redis);
  const redisCpuSeconds = redis ? (await redis.cpuSeconds()) - redisCpu0 : 0;
  for (const ws of sockets) ws.terminate();
  return {
    operationsPerSec: operations / elapsed,
    serverCpuUsPerOperation: (cpuSeconds * 1e6) / operations,
    redisCpuUsPerOperation: (redisCpuSeconds * 1e6) / operations,
    redisCommandsPerOperation: commands.calls / operations,
    redisByCommand: JSON.stringify(commands.byCommand),
    presenceFramesPerOperation: (stats.diffs + stats.resets) / operations,
    generatorCpuMs: (generator.user + generator.system) / 1000,
  };
}

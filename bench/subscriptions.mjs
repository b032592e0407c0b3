// Subscriptions: per-room channels (what RedisClusterAdapter does) against K sharded fixed channels
// (room → FNV-1a(room) mod K), at the Redis level only: no WebSocket, no Nest. N node processes
// each hold one ioredis subscriber connection and one command connection; publisher processes
// publish to rooms at a fixed total rate through the adapter's kind of script (INCR the room's seq,
// PUBLISH the frame with the seq in it). Rooms live on 1, 2 or all nodes, and each node keeps
// emptying and repopulating its rooms (churn): per-room channels SUBSCRIBE/UNSUBSCRIBE, sharded
// channels keep a refcount per shard and (UN)SUBSCRIBE only when it crosses zero.
//
// Measured per strategy in the same run, over a window after a warm-up: node CPU (all nodes, from
// process.cpuUsage() in each node) per useful delivery, messages received per node and the wasted
// fraction (received for a room with no local member), Redis CPU (INFO cpu) per published message,
// subscription commands/s, and losses: every message published while a node had members of the
// room must reach that node exactly once.
//
// Run as a module by run.mjs (`npm run bench -- subscriptions`); the same file is the node and
// publisher child (`subscriptions.mjs node|publisher`, driven over IPC).
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedis } from './cluster-fanout.mjs';
import { fmt, table } from './lib/stats.mjs';
import { mulberry32 } from './lib/scale-parts.mjs';

const self = fileURLToPath(import.meta.url);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const PREFIX = 'bench';
const roomId = (index) => `room-${index}`;
const roomChannel = (room) => `${PREFIX}:room:{${room}}`;
const shardChannel = (shard) => `${PREFIX}:shard:{${shard}}`;
const seqKey = (room) => `${PREFIX}:seq:{${room}}`;
const ROOM_CHANNEL_PREFIX = `${PREFIX}:room:{`;

/** FNV-1a, 32 bits: what a sharded adapter would use to map a room to its shard. */
function shardOf(room, shards) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < room.length; i++) {
    hash ^= room.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/** Seeded PRNG: the same rooms start empty for every strategy. */
const random = mulberry32;

/** Rooms with members on `node`: room i lives on nodes i, i+1, …, i+locality-1 (mod nodes). */
function homeRooms(node, { nodes, rooms, locality }) {
  const out = [];
  for (let i = 0; i < rooms; i++) if ((node - i + nodes * rooms) % nodes < locality) out.push(roomId(i));
  return out;
}

/**
 * The adapter's publish script, with the seq also in the header so that a node can account for a
 * message it drops without parsing the frame. Header: kind, origin node, except connection, room,
 * seq; then the JSON frame.
 */
const PUBLISH = `
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2] .. seq .. '\\n' .. ARGV[3] .. seq .. ARGV[4])
return seq
`;

// ---------------------------------------------------------------------------------------------
// Children

function serve(handlers) {
  process.on('message', async ({ id, cmd, args }) => {
    try {
      process.send({ id, result: await handlers[cmd](args) });
    } catch (error) {
      process.send({ id, error: String(error?.stack ?? error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

async function connect(url) {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  return client;
}

/** A cluster node's Redis side: subscriptions, churn, receive-and-filter, and loss accounting. */
function nodeChild() {
  let cfg;
  let sub;
  let cmd;
  const members = new Set(); // rooms with local members now
  const receipts = new Map(); // home room → seqs received (bench bookkeeping, both strategies)
  const intervals = new Map(); // home room → [{ from, to }]: seqs (from, to] must arrive
  const populated = [];
  const empty = [];
  let refs; // sharded: rooms with members per shard
  let shardReady; // sharded: the shard's SUBSCRIBE
  let received = 0;
  let useful = 0;
  let malformed = 0;
  let subCommands = 0;
  let churning = false;
  let churnLoop = Promise.resolve();
  let churnOps = 0;

  function onMessage(channel, message) {
    received++;
    const a = message.indexOf('\n');
    const b = message.indexOf('\n', a + 1);
    const c = message.indexOf('\n', b + 1);
    const d = message.indexOf('\n', c + 1);
    const e = message.indexOf('\n', d + 1);
    // Per-room: the channel names the room (ClusterChannels.roomOf); sharded: the header does.
    const room = cfg.shards === 0 ? channel.slice(ROOM_CHANNEL_PREFIX.length, -1) : message.slice(c + 1, d);
    const log = receipts.get(room);
    if (log !== undefined) log.push(Number(message.slice(d + 1, e)));
    if (!members.has(room)) return; // no local member: dropped, wasted
    // Delivered: validated like RedisClusterAdapter.receive, then it would go to the members.
    const frame = JSON.parse(message.slice(e + 1));
    if (message[0] !== 'R' || typeof frame?.type !== 'string' || frame.room !== room) malformed++;
    else useful++;
  }

  async function join(room) {
    members.add(room);
    const interval = { from: undefined, to: undefined };
    intervals.get(room).push(interval);
    if (cfg.shards === 0) {
      subCommands++;
      await sub.subscribe(roomChannel(room));
    } else {
      const shard = shardOf(room, cfg.shards);
      if (refs[shard]++ === 0) {
        subCommands++;
        shardReady[shard] = sub.subscribe(shardChannel(shard));
      }
      await shardReady[shard];
    }
    // Subscribed: whatever is published from now on (seq above this) must arrive.
    interval.from = Number(await cmd.get(seqKey(room)));
  }

  async function leave(room) {
    members.delete(room);
    // Everything published up to now (seq up to this) must still arrive.
    intervals.get(room).at(-1).to = Number(await cmd.get(seqKey(room)));
    if (cfg.shards === 0) {
      subCommands++;
      await sub.unsubscribe(roomChannel(room));
    } else {
      const shard = shardOf(room, cfg.shards);
      if (--refs[shard] === 0) {
        subCommands++;
        await sub.unsubscribe(shardChannel(shard));
      }
    }
  }

  const take = (list, rnd) => {
    const i = Math.floor(rnd() * list.length);
    const room = list[i];
    list[i] = list[list.length - 1];
    list.pop();
    return room;
  };

  /** `churn` joins+leaves per second, alternating: a populated room empties, an empty one fills. */
  async function churn(rnd) {
    const start = performance.now();
    while (churning) {
      // One timer per operation: a polling loop would cost more than the churn itself.
      const wait = start + ((churnOps + 1) * 1000) / cfg.churn - performance.now();
      if (wait > 0) {
        await sleep(wait);
        continue;
      }
      if (churnOps % 2 === 0 && populated.length > 0) {
        const room = take(populated, rnd);
        await leave(room);
        empty.push(room);
      } else if (empty.length > 0) {
        const room = take(empty, rnd);
        await join(room);
        populated.push(room);
      }
      churnOps++;
    }
  }

  const mark = () => {
    const cpu = process.cpuUsage();
    return { cpuUs: cpu.user + cpu.system, received, useful, subCommands, churnOps };
  };

  serve({
    async setup(config) {
      cfg = config;
      [sub, cmd] = await Promise.all([connect(cfg.url), connect(cfg.url)]);
      sub.on('message', onMessage);
      const rnd = random(cfg.node + 1);
      for (const room of homeRooms(cfg.node, cfg)) {
        receipts.set(room, []);
        intervals.set(room, []);
        (rnd() < cfg.emptyFraction ? empty : populated).push(room);
      }
      // Nothing is published yet: every populated room's interval starts at seq 0.
      for (const room of populated) {
        members.add(room);
        intervals.get(room).push({ from: 0, to: undefined });
      }
      let channels;
      if (cfg.shards === 0) {
        channels = populated.map(roomChannel);
      } else {
        refs = new Int32Array(cfg.shards);
        shardReady = new Array(cfg.shards).fill(Promise.resolve());
        for (const room of populated) refs[shardOf(room, cfg.shards)]++;
        channels = [];
        for (let s = 0; s < cfg.shards; s++) if (refs[s] > 0) channels.push(shardChannel(s));
      }
      const start = performance.now();
      for (let i = 0; i < channels.length; i += 1000) await sub.subscribe(...channels.slice(i, i + 1000));
      return { channels: channels.length, subscribeMs: performance.now() - start };
    },
    start() {
      churning = cfg.churn > 0;
      if (churning) churnLoop = churn(random(1000 + cfg.node));
    },
    mark,
    async stopChurn() {
      churning = false;
      await churnLoop;
    },
    async verify() {
      // PING on the subscriber connection answers after every message Redis pushed before it:
      // the publishers have stopped, so everything is in.
      await sub.ping();
      const open = [...intervals].filter(([, list]) => list.length > 0 && list.at(-1).to === undefined);
      for (let i = 0; i < open.length; i += 1000) {
        const chunk = open.slice(i, i + 1000);
        const seqs = await cmd.mget(...chunk.map(([room]) => seqKey(room)));
        chunk.forEach(([, list], j) => (list.at(-1).to = Number(seqs[j])));
      }
      let expected = 0;
      let lost = 0;
      let duplicated = 0;
      for (const [room, list] of intervals) {
        const log = receipts.get(room);
        const seen = new Set(log);
        duplicated += log.length - seen.size;
        for (const { from, to } of list) {
          for (let seq = from + 1; seq <= to; seq++) {
            expected++;
            if (!seen.has(seq)) lost++;
          }
        }
      }
      sub.disconnect();
      cmd.disconnect();
      return { expected, lost, duplicated, malformed };
    },
  });
}

/** Publishes to uniformly random rooms at a fixed rate through the seq + publish script. */
function publisherChild() {
  let pub;
  let cfg;
  let args;
  let timer;
  let inFlight = 0;
  let published = 0;

  serve({
    async setup(config) {
      cfg = config;
      // No auto-pipelining: each publish is its own write, as when nodes publish what their
      // clients send, one message at a time (batches would let Redis coalesce its pushes).
      pub = new Redis(cfg.url, { lazyConnect: true });
      await pub.connect();
      pub.defineCommand('publishRoom', { numberOfKeys: 1, lua: PUBLISH });
      // One chat frame of about `payload` bytes, header included, as the adapter sends it.
      args = Array.from({ length: cfg.rooms }, (_, i) => {
        const room = roomId(i);
        const head = `R\npub-${cfg.publisher}\n\n${room}\n`;
        const prefix = `{"type":"chat_message","room":"${room}","seq":`;
        let suffix =
          `,"epoch":"k3Jd9sPq","data":{"room_id":"${room}","user_id":"user-42","username":"user 42",` +
          `"content":""},"timestamp":"2026-11-26T20:00:00.000Z"}`;
        const pad = Math.max(0, cfg.payload - (head.length + prefix.length + suffix.length + 10));
        suffix = suffix.replace('"content":""', `"content":"${'x'.repeat(pad)}"`);
        return [
          seqKey(room),
          cfg.shards === 0 ? roomChannel(room) : shardChannel(shardOf(room, cfg.shards)),
          head,
          prefix,
          suffix,
        ];
      });
    },
    start() {
      const rnd = random(7919 + cfg.publisher);
      const start = performance.now();
      let sent = 0;
      timer = setInterval(() => {
        const due = Math.floor(((performance.now() - start) * cfg.rate) / 1000);
        for (; sent < due; sent++) {
          inFlight++;
          pub.publishRoom(...args[Math.floor(rnd() * cfg.rooms)]).then(() => {
            inFlight--;
            published++;
          });
        }
      }, 1);
    },
    mark: () => ({ published }),
    async stop() {
      clearInterval(timer);
      while (inFlight > 0) await sleep(5);
      pub.disconnect();
      return { published };
    },
  });
}

if (process.argv[1] === self && process.argv[2] === 'node') nodeChild();
if (process.argv[1] === self && process.argv[2] === 'publisher') publisherChild();

// ---------------------------------------------------------------------------------------------
// Orchestrator

class Child {
  constructor(role) {
    this.process = fork(self, [role], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.pending = new Map();
    this.nextId = 0;
    this.process.on('message', ({ id, result, error }) => {
      const call = this.pending.get(id);
      this.pending.delete(id);
      if (error) call.reject(new Error(`${role}: ${error}`));
      else call.resolve(result);
    });
    this.exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.exited.then(() => {
      for (const call of this.pending.values()) call.reject(new Error(`${role} exited`));
    });
  }

  call(cmd, args) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.process.send({ id, cmd, args });
    });
  }

  async stop() {
    if (this.process.connected) this.process.disconnect();
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

function infoField(info, name) {
  const match = new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info);
  return match ? Number(match[1]) : NaN;
}

async function redisCpuUs(admin) {
  const info = await admin.info('cpu');
  return (infoField(info, 'used_cpu_user') + infoField(info, 'used_cpu_sys')) * 1e6;
}

const sum = (list, key) => list.reduce((total, item) => total + item[key], 0);

/** One strategy on one workload: fresh node and publisher processes on a flushed Redis. */
async function runOne(url, admin, workload, shards, o) {
  await admin.flushall();
  const memoryBefore = infoField(await admin.info('memory'), 'used_memory');
  const nodes = Array.from({ length: o.nodes }, () => new Child('node'));
  const publishers = Array.from({ length: o.publishers }, () => new Child('publisher'));
  try {
    const base = { url, nodes: o.nodes, rooms: workload.rooms, locality: workload.locality, shards };
    const setup = await Promise.all(
      nodes.map((n, node) => n.call('setup', { ...base, node, churn: workload.churn, emptyFraction: o.emptyFraction })),
    );
    await Promise.all(
      publishers.map((p, publisher) =>
        p.call('setup', { ...base, publisher, rate: o.rate / o.publishers, payload: o.payload }),
      ),
    );
    const memoryAfter = infoField(await admin.info('memory'), 'used_memory');
    await Promise.all(nodes.map((n) => n.call('start')));
    await Promise.all(publishers.map((p) => p.call('start')));
    await sleep(o.warmupMs);
    const snapshot = () =>
      Promise.all([
        Promise.all(nodes.map((n) => n.call('mark'))),
        Promise.all(publishers.map((p) => p.call('mark'))),
        redisCpuUs(admin),
        performance.now(),
      ]);
    const [n0, p0, r0, t0] = await snapshot();
    await sleep(o.durationMs);
    const [n1, p1, r1, t1] = await snapshot();
    await Promise.all(publishers.map((p) => p.call('stop')));
    await Promise.all(nodes.map((n) => n.call('stopChurn')));
    const checks = await Promise.all(nodes.map((n) => n.call('verify')));
    const seconds = (t1 - t0) / 1000;
    const delta = (key) => sum(n1, key) - sum(n0, key);
    const published = sum(p1, 'published') - sum(p0, 'published');
    const received = delta('received');
    const useful = delta('useful');
    return {
      channelsPerNode: sum(setup, 'channels') / o.nodes,
      subscribeMs: Math.max(...setup.map((s) => s.subscribeMs)),
      redisMemoryKB: (memoryAfter - memoryBefore) / 1024,
      publishedPerSec: published / seconds,
      subCommandsPerSec: delta('subCommands') / seconds,
      churnPerNodePerSec: delta('churnOps') / seconds / o.nodes,
      receivedPerNodePerSec: received / seconds / o.nodes,
      usefulPerNodePerSec: useful / seconds / o.nodes,
      wastedPct: (100 * (received - useful)) / Math.max(1, received),
      nodeCpuUsPerUseful: delta('cpuUs') / Math.max(1, useful),
      nodeCpuPct: delta('cpuUs') / 1e4 / seconds / o.nodes,
      redisCpuUsPerPublish: (r1 - r0) / Math.max(1, published),
      expected: sum(checks, 'expected'),
      lost: sum(checks, 'lost'),
      duplicated: sum(checks, 'duplicated'),
      malformed: sum(checks, 'malformed'),
    };
  } finally {
    await Promise.all([...nodes, ...publishers].map((c) => c.stop()));
  }
}

function median(list) {
  const out = {};
  for (const key of Object.keys(list[0])) {
    const values = list.map((r) => r[key]).sort((a, b) => a - b);
    out[key] = values[Math.floor(values.length / 2)];
  }
  return out;
}

const list = (value, fallback) => (value ?? fallback).split(',').map((v) => v.trim());

/** The scenario's options, from BENCH_SUBS_* (see bench/README.md). */
export function subscriptionOptions(env = process.env) {
  const nodes = Number(env.BENCH_SUBS_NODES ?? 4);
  const churn = Number(env.BENCH_SUBS_CHURN ?? 50);
  const heavyChurn = Number(env.BENCH_SUBS_HEAVY_CHURN ?? 500);
  const rooms = list(env.BENCH_SUBS_ROOMS, '1000,10000').map(Number);
  const localities = list(env.BENCH_SUBS_LOCALITY, '1,2,all').map((l) => (l === 'all' ? nodes : Number(l)));
  const workloads = [];
  for (const r of rooms) for (const locality of localities) workloads.push({ rooms: r, locality, churn });
  // Many rooms that empty and fill fast: where sharding's refcounts should pay off most.
  if (heavyChurn > 0) {
    for (const locality of [1, nodes]) workloads.push({ rooms: Math.max(...rooms), locality, churn: heavyChurn });
  }
  return {
    nodes,
    publishers: Number(env.BENCH_SUBS_PUBLISHERS ?? nodes),
    rate: Number(env.BENCH_SUBS_RATE ?? 2000),
    payload: Number(env.BENCH_SUBS_PAYLOAD ?? 200),
    shards: list(env.BENCH_SUBS_SHARDS, '16,64,256').map(Number),
    warmupMs: Number(env.BENCH_SUBS_WARMUP_MS ?? 1000),
    durationMs: Number(env.BENCH_SUBS_DURATION_MS ?? 3000),
    emptyFraction: 0.1,
    workloads,
  };
}

const strategyName = (shards) => (shards === 0 ? 'per-room' : `${shards} shards`);

/**
 * Every workload against per-room channels and each shard count, `rounds` times (rotating which
 * strategy goes first), on one redis-server of the benchmark's own. Returns the medians.
 */
export async function runSubscriptions({ rounds = 1, ...overrides } = {}) {
  const o = { ...subscriptionOptions(), ...overrides };
  const strategies = [0, ...o.shards];
  const all = o.workloads.map(() => strategies.map(() => []));
  const redis = await startRedis();
  const admin = new Redis(redis.url);
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [w, workload] of o.workloads.entries()) {
        for (let i = 0; i < strategies.length; i++) {
          const s = (i + round + w) % strategies.length;
          all[w][s].push(await runOne(redis.url, admin, workload, strategies[s], o));
        }
      }
    }
  } finally {
    admin.disconnect();
    await redis.stop();
  }
  return {
    options: o,
    rounds,
    workloads: o.workloads.map((workload, w) => ({
      ...workload,
      strategies: strategies.map((shards, s) => ({ shards, median: median(all[w][s]), rounds: all[w][s] })),
    })),
  };
}

export function printSubscriptions({ options: o, rounds, workloads }) {
  console.log(
    `\nSubscriptions: ${o.nodes} nodes, ${o.rate} msg/s to uniformly random rooms, ${o.payload} B, ` +
      `${o.durationMs / 1000} s measured after ${o.warmupMs / 1000} s, ${Math.round(o.emptyFraction * 100)}% of ` +
      `each node's rooms empty at any time (median of ${rounds} round${rounds > 1 ? 's' : ''})`,
  );
  for (const { rooms, locality, churn, strategies } of workloads) {
    const where = locality >= o.nodes ? 'every node' : `${locality} node${locality > 1 ? 's' : ''}`;
    console.log(`\n${rooms} rooms, each on ${where}, churn ${churn} joins+leaves/s per node`);
    const ref = strategies[0].median;
    table(
      strategies.map(({ shards, median: m }) => ({
        strategy: strategyName(shards),
        'subs/node': fmt(m.channelsPerNode, 0),
        'sub cmds/s': fmt(m.subCommandsPerSec, 0),
        'recv/node/s': fmt(m.receivedPerNodePerSec, 0),
        'useful/node/s': fmt(m.usefulPerNodePerSec, 0),
        wasted: `${fmt(m.wastedPct, 0)}%`,
        'node CPU %': fmt(m.nodeCpuPct, 1),
        'node CPU µs/useful': `${fmt(m.nodeCpuUsPerUseful)} (${fmt(m.nodeCpuUsPerUseful / ref.nodeCpuUsPerUseful)}×)`,
        'Redis CPU µs/msg': `${fmt(m.redisCpuUsPerPublish)} (${fmt(m.redisCpuUsPerPublish / ref.redisCpuUsPerPublish)}×)`,
        'Redis KB': fmt(m.redisMemoryKB, 0),
        'subscribe ms': fmt(m.subscribeMs, 0),
        'lost/expected': `${m.lost}/${m.expected}`,
        dup: m.duplicated + m.malformed,
      })),
    );
  }
}

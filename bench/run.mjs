// Runs the benchmarks: each scenario against a raw `ws` server, the module without auth and the
// sample app (authenticated, as users run it), each server in its own process, in one run, and
// prints the figures and the ratios. `fanout` and `cluster` also run the sample with its room
// history (for resume) off (`servers/sample-knobs.mjs`, HISTORY=off) to report history on / off.
//   npm run bench                 # every scenario
//   npm run bench -- echo         # one scenario
// Environment: BENCH_DURATION_MS (echo, default 5000), BENCH_IDLE (idle connections, 10000),
// BENCH_CONNECT (connections opened by `connect`, 5000), BENCH_CONNECT_RATE (`connect` opens them
// at that many per second instead of at full speed: the same arrivals for every server), BENCH_BASELINE (`connect` only: the root
// of another checkout with its sample built, e.g. the commit before a change, run as one more
// server in the same rounds),
// BENCH_PRESENCE_* for `presence` (see presence.mjs and README.md; BENCH_BASELINE adds the
// before build there too),
// BENCH_ROUNDS (default 3); BENCH_TARGETS (`fanout`, `cluster` and `compression` only: a comma-separated subset
// of their servers, e.g. `sample,nohistory` for history on / off alone); BENCH_SUBS_* for
// `subscriptions` (see subscriptions.mjs and README.md). `fanout-burst` (not in the default list)
// is `fanout` with the publisher sending BENCH_BURST (10) messages at once, at the same rate,
// plus a small room with a message every 2 ms, against the sample with writeDelay 1, 2 and 5 ms
// as well; BENCH_BASELINE adds that checkout's sample to `fanout` and `fanout-burst` too.
import { execFileSync } from 'node:child_process';
import { createSecretKey } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { JwtService } from '@nestjs/jwt';
import { connectOptions, runEcho } from './echo.mjs';
import { runIdle } from './idle.mjs';
import { connectClients, runConnect } from './connect.mjs';
import { runFanout } from './fanout.mjs';
import { freePort, jsonClient, runClusterFanout, socketIoClient, startRedis } from './cluster-fanout.mjs';
import { printSubscriptions, runSubscriptions } from './subscriptions.mjs';
import { runDrain } from './drain.mjs';
import { runCompression } from './compression.mjs';
import { runPresenceChurn, runPresenceStorm } from './presence.mjs';
import { runPresenceLeave } from './lib/presence-leave.mjs';
import { fmt, table } from './lib/stats.mjs';
import { ServerProcess } from './lib/server-process.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const scenarios = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['echo', 'idle', 'connect', 'fanout', 'cluster', 'subscriptions', 'drain', 'presence', 'compression'];
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 5000);
const idleConnections = Number(process.env.BENCH_IDLE ?? 10_000);
const connectConnections = Number(process.env.BENCH_CONNECT ?? 5000);
const connectWarmup = 1000;
const connectRate = Number(process.env.BENCH_CONNECT_RATE ?? 0);
const maxConnections = String(Math.max(idleConnections, connectConnections + connectWarmup) + 1000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
if (rounds < 1) throw new Error('BENCH_ROUNDS must be at least 1');
const only = process.env.BENCH_TARGETS?.split(',').map((k) => k.trim());
/**
 * The servers of `fanout` or `cluster` that BENCH_TARGETS keeps (all of them by default); `extra`
 * servers run only when BENCH_TARGETS names them.
 */
const pick = (kinds, extra = []) => (only ? [...kinds, ...extra].filter((k) => only.includes(k)) : kinds);

// The sample is built for the scenarios that run it (`subscriptions` runs no server).
if (scenarios.some((s) => s !== 'subscriptions')) {
  execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', `${root}/tsconfig.sample.json`], {
    stdio: 'inherit',
  });
}

const secret = 'bench-secret-0123456789abcdef0123456789';
// A KeyObject made once: with the string, jsonwebtoken first tries it as a PEM key (~0.4 ms a token).
const jwt = new JwtService({ secret: createSecretKey(Buffer.from(secret)) });
const tokens = new Map();
/** A token for user `index`, valid for two hours, signed once per run. */
const tokenFor = (index) => {
  let token = tokens.get(index);
  if (token === undefined) {
    token = jwt.sign({
      user_id: `user-${index}`,
      username: `user ${index}`,
      roles: ['user'],
      exp: Math.floor(Date.now() / 1000) + 7200,
    });
    tokens.set(index, token);
  }
  return token;
};

/** The environment of every run of the sample (through its own `main` or `sample-knobs.mjs`). */
const sampleEnv = {
  LOG_LEVEL: 'warn',
  JWT_SECRET: secret,
  MAX_CONNECTIONS: maxConnections,
  // The closed-loop load is far above a chat client's rate: the limiter would refuse it.
  RATE_LIMIT_PER_SEC: '100000000',
  RATE_LIMIT_BURST: '100000000',
};

/** Authenticated at the handshake, one user per connection: `connected`, then `auth_success`. */
const authenticated = (index) => ({ headers: { authorization: `Bearer ${tokenFor(index)}` }, greetings: 2 });

/** The servers under test and how a client connects to each. */
const targets = {
  raw: {
    label: 'raw ws',
    start: (port) => new ServerProcess('raw ws', `${root}/bench/servers/raw-ws.mjs`, port),
    connect: {},
  },
  rawjwt: {
    label: 'raw ws, HS256 verified (one HMAC)',
    start: (port) =>
      new ServerProcess('raw ws verifying HS256', `${root}/bench/servers/raw-ws-jwt.mjs`, port, { JWT_SECRET: secret }),
    connect: authenticated,
  },
  socketio: {
    label: 'Socket.IO, HS256 verified (one HMAC)',
    start: (port) =>
      new ServerProcess('socket.io verifying HS256', `${root}/bench/servers/socketio.mjs`, port, {
        JWT_SECRET: secret,
      }),
    connect: (index) => ({ headers: { authorization: `Bearer ${tokenFor(index)}` } }),
    client: connectClients.socketio,
  },
  baseline: {
    label: 'sample at BENCH_BASELINE',
    start: (port) =>
      new ServerProcess(
        'nest-realtime sample (baseline)',
        `${process.env.BENCH_BASELINE}/dist-sample/sample/main.js`,
        port,
        sampleEnv,
      ),
    connect: authenticated,
  },
  nometrics: {
    label: 'nest-realtime, no auth, no metrics',
    start: (port) =>
      new ServerProcess('nest-realtime without auth and metrics', `${root}/bench/servers/realtime-noauth.mjs`, port, {
        MAX_CONNECTIONS: maxConnections,
        METRICS: 'off',
      }),
    connect: {},
  },
  noauth: {
    label: 'nest-realtime, no auth',
    start: (port) =>
      new ServerProcess('nest-realtime without auth', `${root}/bench/servers/realtime-noauth.mjs`, port, {
        MAX_CONNECTIONS: maxConnections,
      }),
    connect: {},
  },
  sample: {
    label: 'sample (JWT auth)',
    start: (port) => new ServerProcess('nest-realtime sample', `${root}/dist-sample/sample/main.js`, port, sampleEnv),
    connect: authenticated,
  },
  knobs: {
    label: 'sample via sample-knobs.mjs, history on',
    // An A/A control for `nohistory`: the same entry point with history on (BENCH_TARGETS only).
    start: (port) =>
      new ServerProcess(
        'nest-realtime sample via sample-knobs.mjs',
        `${root}/bench/servers/sample-knobs.mjs`,
        port,
        sampleEnv,
      ),
    connect: authenticated,
  },
  delay1: {
    label: 'sample, writeDelay 1 ms',
    start: (port) =>
      new ServerProcess('nest-realtime sample, writeDelay 1', `${root}/bench/servers/sample-knobs.mjs`, port, {
        ...sampleEnv,
        WRITE_DELAY: '1',
      }),
    connect: authenticated,
  },
  delay2: {
    label: 'sample, writeDelay 2 ms',
    start: (port) =>
      new ServerProcess('nest-realtime sample, writeDelay 2', `${root}/bench/servers/sample-knobs.mjs`, port, {
        ...sampleEnv,
        WRITE_DELAY: '2',
      }),
    connect: authenticated,
  },
  delay5: {
    label: 'sample, writeDelay 5 ms',
    start: (port) =>
      new ServerProcess('nest-realtime sample, writeDelay 5', `${root}/bench/servers/sample-knobs.mjs`, port, {
        ...sampleEnv,
        WRITE_DELAY: '5',
      }),
    connect: authenticated,
  },
  nohistory: {
    label: 'sample, history off',
    // The same sample with `rooms: { historySize: 0 }`: the history's cost is sample / this.
    start: (port) =>
      new ServerProcess('nest-realtime sample, history off', `${root}/bench/servers/sample-knobs.mjs`, port, {
        ...sampleEnv,
        HISTORY: 'off',
      }),
    connect: authenticated,
  },
};

/**
 * Ports for servers, picked by the OS (a fixed counter from 3100 ran into other services, e.g.
 * 3306, over long runs); distinct among themselves.
 */
async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

async function measure(kind, run) {
  const [port] = await freePorts(1);
  const server = targets[kind].start(port);
  server.kind = kind;
  try {
    await server.ready();
    const result = await run(server, targets[kind].connect);
    // The machine's 1-minute load average at the end: other work on the machine shows up here.
    return { ...result, loadAvg: loadavg()[0] };
  } finally {
    await server.stop();
  }
}

/** Median of each numeric field over the rounds' results. */
function median(list) {
  const out = {};
  for (const key of Object.keys(list[0])) {
    const values = list.map((r) => r[key]).sort((a, b) => a - b);
    out[key] = values[Math.floor(values.length / 2)];
  }
  return out;
}

/**
 * Runs a scenario `rounds` times against each target, rotating which goes first (the load
 * generator shares the machine and warms up too), and returns the median of each figure.
 */
async function compare(kinds, run) {
  const all = Object.fromEntries(kinds.map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    const order = kinds.map((_, i) => kinds[(i + round) % kinds.length]);
    for (const kind of order) all[kind].push(await measure(kind, run));
  }
  return { medians: Object.fromEntries(kinds.map((k) => [k, median(all[k])])), rounds: all };
}

const ratio = (a, b) => `${fmt(a / b)}×`;

/**
 * History on / off (issue: history must not slow the live fan-out by more than 10%): the ratios
 * of the medians, and the range of the same ratio within each round (on and off ran back to back).
 */
function historyRatios(m, all) {
  const perRound = all.sample.map((on, i) => on.cpuUsPerDelivery / all.nohistory[i].cpuUsPerDelivery);
  return (
    `history on / off (sample / sample with historySize 0): ` +
    `CPU per delivery ${ratio(m.sample.cpuUsPerDelivery, m.nohistory.cpuUsPerDelivery)} ` +
    `(per round ${fmt(Math.min(...perRound))}–${fmt(Math.max(...perRound))}×; target ≤ 1.10×), ` +
    `deliveries/s ${ratio(m.sample.deliveriesPerSec, m.nohistory.deliveriesPerSec)}, ` +
    `p99 ${ratio(m.sample.p99Ms, m.nohistory.p99Ms)}, lost ${m.sample.lost} / ${m.nohistory.lost}`
  );
}
const results = {};

if (scenarios.includes('echo')) {
  const kinds = ['raw', 'nometrics', 'noauth', 'sample'];
  const { medians: m, rounds: all } = await compare(kinds, (s, connect) => runEcho(s, { durationMs, connect }));
  results.echo = { medians: m, rounds: all };
  console.log(`\nEcho, closed loop, 100 connections (median of ${rounds} rounds)`);
  table(
    kinds.map((k) => ({
      server: targets[k].label,
      'round trips/s': fmt(m[k].roundTripsPerSec, 0),
      'p50 ms': fmt(m[k].p50Ms),
      'p99 ms': fmt(m[k].p99Ms),
      'server CPU µs/rt': fmt(m[k].cpuUsPerRoundTrip),
    })),
  );
  console.log(
    `server CPU per round trip: no auth / raw ${ratio(m.noauth.cpuUsPerRoundTrip, m.raw.cpuUsPerRoundTrip)}, ` +
      `sample / raw ${ratio(m.sample.cpuUsPerRoundTrip, m.raw.cpuUsPerRoundTrip)}, ` +
      `auth pipeline: sample / no auth ${ratio(m.sample.cpuUsPerRoundTrip, m.noauth.cpuUsPerRoundTrip)}, ` +
      `metrics: no auth / no metrics ${ratio(m.noauth.cpuUsPerRoundTrip, m.nometrics.cpuUsPerRoundTrip)}`,
  );
}

if (scenarios.includes('idle')) {
  const kinds = ['raw', 'sample'];
  const { medians: m, rounds: all } = await compare(kinds, (s, connect) =>
    runIdle(s, { connections: idleConnections, connect }),
  );
  results.idle = { medians: m, rounds: all };
  console.log(`\nIdle, ${idleConnections} connections (sample: authenticated) (median of ${rounds} rounds)`);
  table(
    kinds.map((k) => ({
      server: targets[k].label,
      'RSS B/conn': fmt(m[k].rssPerConnection, 0),
      'heap B/conn': fmt(m[k].heapPerConnection, 0),
    })),
  );
  console.log(
    `sample / raw: RSS per connection ${ratio(m.sample.rssPerConnection, m.raw.rssPerConnection)}, ` +
      `heap per connection ${ratio(m.sample.heapPerConnection, m.raw.heapPerConnection)}`,
  );
}

if (scenarios.includes('connect')) {
  const kinds = ['raw', 'rawjwt', 'socketio', 'noauth', 'sample', ...(process.env.BENCH_BASELINE ? ['baseline'] : [])];
  const { medians: m, rounds: all } = await compare(kinds, (s, connect) =>
    runConnect(s, {
      connections: connectConnections,
      warmup: connectWarmup,
      rate: connectRate,
      connect,
      client: targets[s.kind].client ?? connectClients.json,
    }),
  );
  results.connect = { medians: m, rounds: all };
  console.log(
    `\nConnect, ${connectConnections} connections opened ${connectRate > 0 ? `at ${connectRate}/s` : 'at full speed'}, ` +
      `at most 100 handshakes in flight ` +
      `(authenticated: HS256 token in the Authorization header) (median of ${rounds} rounds)`,
  );
  table(
    kinds.map((k) => ({
      server: targets[k].label,
      'connects/s': fmt(m[k].connectsPerSec, 0),
      'server CPU µs/connect': fmt(m[k].cpuUsPerConnect, 1),
      '/ raw ws verifying': ratio(m[k].cpuUsPerConnect, m.rawjwt.cpuUsPerConnect),
      '/ raw ws': ratio(m[k].cpuUsPerConnect, m.raw.cpuUsPerConnect),
      load: fmt(m[k].loadAvg, 1),
    })),
  );
  const perRound = all.sample.map((r, i) => r.cpuUsPerConnect / all.rawjwt[i].cpuUsPerConnect);
  console.log(
    `sample / raw ws verifying: CPU per connect ${ratio(m.sample.cpuUsPerConnect, m.rawjwt.cpuUsPerConnect)} ` +
      `(per round ${fmt(Math.min(...perRound))}–${fmt(Math.max(...perRound))}×; target ≤ 1.10×), ` +
      `connects/s ${ratio(m.sample.connectsPerSec, m.rawjwt.connectsPerSec)}; ` +
      `sample / Socket.IO ${ratio(m.sample.cpuUsPerConnect, m.socketio.cpuUsPerConnect)}; ` +
      `auth: sample / module without auth ${ratio(m.sample.cpuUsPerConnect, m.noauth.cpuUsPerConnect)}`,
  );
  if (m.baseline) {
    console.log(
      `sample / sample at BENCH_BASELINE: CPU per connect ${ratio(m.sample.cpuUsPerConnect, m.baseline.cpuUsPerConnect)}, ` +
        `connects/s ${ratio(m.sample.connectsPerSec, m.baseline.connectsPerSec)}; ` +
        `baseline / raw ws verifying ${ratio(m.baseline.cpuUsPerConnect, m.rawjwt.cpuUsPerConnect)}`,
    );
  }
}

/** The sample at BENCH_BASELINE, when given, as one more server of `fanout` and `fanout-burst`. */
const withBaseline = (kinds) =>
  process.env.BENCH_BASELINE && !kinds.includes('baseline') ? [...kinds, 'baseline'] : kinds;

/** Runs one fan-out workload against `kinds` and prints its table and ratios. */
async function fanoutScenario(title, kinds, options) {
  const { medians: m, rounds: all } = await compare(kinds, (s, connect) => runFanout(s, { ...options, connect }));
  console.log(`\n${title} (median of ${rounds} rounds)`);
  table(
    kinds.map((k) => ({
      server: targets[k].label,
      'deliveries/s': fmt(m[k].deliveriesPerSec, 0),
      'p50 ms': fmt(m[k].p50Ms),
      'p99 ms': fmt(m[k].p99Ms),
      'server CPU µs/delivery': fmt(m[k].cpuUsPerDelivery, 3),
      '/ raw': m.raw ? ratio(m[k].cpuUsPerDelivery, m.raw.cpuUsPerDelivery) : '',
      'client CPU µs/delivery': fmt(m[k].clientCpuUsPerDelivery, 3),
      lost: m[k].lost,
      load: fmt(m[k].loadAvg, 1),
    })),
  );
  if (m.raw && m.sample) {
    const perRound = all.sample.map((r, i) => r.cpuUsPerDelivery / all.raw[i].cpuUsPerDelivery);
    console.log(
      `sample / raw: CPU per delivery ${ratio(m.sample.cpuUsPerDelivery, m.raw.cpuUsPerDelivery)} ` +
        `(per round ${fmt(Math.min(...perRound))}–${fmt(Math.max(...perRound))}×), ` +
        `deliveries/s ${ratio(m.sample.deliveriesPerSec, m.raw.deliveriesPerSec)}, p99 ${ratio(m.sample.p99Ms, m.raw.p99Ms)}`,
    );
  }
  if (m.sample && m.nometrics) {
    console.log(`metrics: sample / no metrics ${ratio(m.sample.cpuUsPerDelivery, m.nometrics.cpuUsPerDelivery)}`);
  }
  if (m.sample && m.nohistory) console.log(historyRatios(m, all));
  if (m.sample && m.knobs) {
    console.log(
      `A/A: sample / sample via sample-knobs.mjs (both history on): CPU per delivery ` +
        `${ratio(m.sample.cpuUsPerDelivery, m.knobs.cpuUsPerDelivery)}, p99 ${ratio(m.sample.p99Ms, m.knobs.p99Ms)}`,
    );
  }
  if (m.sample && m.baseline) {
    console.log(
      `sample / sample at BENCH_BASELINE: CPU per delivery ${ratio(m.sample.cpuUsPerDelivery, m.baseline.cpuUsPerDelivery)}, ` +
        `p99 ${ratio(m.sample.p99Ms, m.baseline.p99Ms)}`,
    );
  }
  return { medians: m, rounds: all };
}

if (scenarios.includes('fanout')) {
  const kinds = withBaseline(
    pick(['raw', 'nometrics', 'sample', 'nohistory'], ['knobs', 'baseline', 'delay1', 'delay2', 'delay5']),
  );
  results.fanout = {};
  for (const [subscribers, rate] of [
    [1000, 100],
    [5000, 20],
  ]) {
    results.fanout[subscribers] = await fanoutScenario(
      `Fan-out, one room, ${subscribers} subscribers, ${rate} msg/s`,
      kinds,
      { subscribers, rate, durationMs },
    );
  }
}

if (scenarios.includes('fanout-burst')) {
  // Bursts: several broadcasts per turn of the server's event loop, where write coalescing and
  // writeDelay act. The raw server is the same as in `fanout` (one write per frame and member).
  const burst = Number(process.env.BENCH_BURST ?? 10);
  const kinds = withBaseline(pick(['raw', 'sample', 'delay1', 'delay2', 'delay5'], ['nometrics', 'baseline']));
  results['fanout-burst'] = {};
  // The same average rates as `fanout` (100 000 deliveries/s), in bursts; then a small busy room
  // (a message every 2 ms, paced): the case where only writeDelay batches.
  for (const [subscribers, rate, size] of [
    [1000, 100, burst],
    [5000, 20, burst],
    [200, 500, 1],
  ]) {
    const shape = size > 1 ? `in bursts of ${size} every ${fmt((size * 1000) / rate, 0)} ms` : 'paced';
    results['fanout-burst'][`${subscribers}x${rate}`] = await fanoutScenario(
      `Fan-out, one room, ${subscribers} subscribers, ${rate} msg/s ${shape}`,
      kinds,
      { subscribers, rate, durationMs, burst: size },
    );
  }
}

if (scenarios.includes('cluster')) {
  // Two nodes per target, on a redis-server of the benchmark's own.
  const starts = {
    raw: (redisUrl) => (p) =>
      new ServerProcess('raw ws + redis', `${root}/bench/servers/raw-ws-redis.mjs`, p, { REDIS_URL: redisUrl }),
    socketio: (redisUrl) => (p) =>
      new ServerProcess('socket.io + redis adapter', `${root}/bench/servers/socketio-redis.mjs`, p, {
        REDIS_URL: redisUrl,
      }),
    sample: (redisUrl) => (p) =>
      new ServerProcess('nest-realtime sample (redis)', `${root}/dist-sample/sample/main.js`, p, {
        LOG_LEVEL: 'warn',
        JWT_SECRET: secret,
        REDIS_URL: redisUrl,
        RATE_LIMIT_PER_SEC: '100000000',
        RATE_LIMIT_BURST: '100000000',
      }),
    nohistory: (redisUrl) => (p) =>
      new ServerProcess('nest-realtime sample (redis), history off', `${root}/bench/servers/sample-knobs.mjs`, p, {
        HISTORY: 'off',
        LOG_LEVEL: 'warn',
        JWT_SECRET: secret,
        REDIS_URL: redisUrl,
        RATE_LIMIT_PER_SEC: '100000000',
        RATE_LIMIT_BURST: '100000000',
      }),
  };
  const kinds = pick(['raw', 'socketio', 'sample', 'nohistory']);
  const all = Object.fromEntries(kinds.map((k) => [k, []]));
  const history = 'nest-realtime:history:{fanout}';
  for (let round = 0; round < rounds; round++) {
    for (const kind of kinds.map((_, i) => kinds[(i + round) % kinds.length])) {
      const redis = await startRedis();
      const nodes = (await freePorts(2)).map((p) => starts[kind](redis.url)(p));
      try {
        await Promise.all(nodes.map((n) => n.ready()));
        const result = await runClusterFanout(nodes, {
          subscribers: 2000,
          rate: 50,
          durationMs,
          connect: kind === 'sample' || kind === 'nohistory' ? targets.sample.connect : {},
          client: kind === 'socketio' ? socketIoClient : jsonClient,
          redis,
        });
        if (kind === 'sample' || kind === 'nohistory') {
          // What the room's history holds in Redis after the run (bounded by historySize, 100).
          const info = await redis.call('INFO', 'memory');
          result.published = Number((await redis.call('GET', 'nest-realtime:seq:{fanout}')) ?? 0);
          result.historyEntries = Number(await redis.call('XLEN', history));
          result.historyBytes = Number((await redis.call('MEMORY', 'USAGE', history)) ?? 0);
          result.redisUsedMemory = Number(/^used_memory:(\d+)/m.exec(info)[1]);
        }
        result.loadAvg = loadavg()[0];
        all[kind].push(result);
      } finally {
        await Promise.all(nodes.map((n) => n.stop()));
        await redis.stop();
      }
    }
  }
  const m = Object.fromEntries(kinds.map((k) => [k, median(all[k])]));
  results.cluster = { medians: m, rounds: all };
  console.log(
    `\nCluster fan-out, 2 nodes, one room, 2000 subscribers split across them, 50 msg/s (median of ${rounds} rounds)`,
  );
  table(
    kinds.map((k) => ({
      server: {
        raw: 'raw ws + redis relay',
        socketio: 'socket.io + redis adapter',
        sample: 'sample (REDIS_URL)',
        nohistory: 'sample (REDIS_URL), history off',
      }[k],
      'deliveries/s': fmt(m[k].deliveriesPerSec, 0),
      'p50 ms': fmt(m[k].p50Ms),
      'p99 ms': fmt(m[k].p99Ms),
      'CPU µs/delivery (both nodes)': fmt(m[k].cpuUsPerDelivery, 3),
      'Redis CPU µs/msg': fmt(m[k].redisCpuUsPerMessage, 1),
      'script µs/call': fmt(m[k].redisScriptUsPerCall, 1),
      lost: m[k].lost,
      load: fmt(m[k].loadAvg, 1),
    })),
  );
  if (m.raw && m.socketio && m.sample) {
    console.log(
      `sample / socket.io: CPU per delivery ${ratio(m.sample.cpuUsPerDelivery, m.socketio.cpuUsPerDelivery)}; ` +
        `socket.io / relay ${ratio(m.socketio.cpuUsPerDelivery, m.raw.cpuUsPerDelivery)}; ` +
        `sample / relay: CPU per delivery ${ratio(m.sample.cpuUsPerDelivery, m.raw.cpuUsPerDelivery)}, ` +
        `deliveries/s ${ratio(m.sample.deliveriesPerSec, m.raw.deliveriesPerSec)}, p99 ${ratio(m.sample.p99Ms, m.raw.p99Ms)}`,
    );
  }
  if (m.sample && m.nohistory) {
    console.log(
      `${historyRatios(m, all)}; Redis CPU per message ` +
        `${ratio(m.sample.redisCpuUsPerMessage, m.nohistory.redisCpuUsPerMessage)}, publish script time per call ` +
        `${ratio(m.sample.redisScriptUsPerCall, m.nohistory.redisScriptUsPerCall)}`,
    );
    console.log(
      `history in Redis after a run (history on): ${m.sample.historyEntries} entries of ${m.sample.published} ` +
        `published, ${m.sample.historyBytes} B (MEMORY USAGE ${history}); used_memory ` +
        `${m.sample.redisUsedMemory} B on / ${m.nohistory.redisUsedMemory} B off`,
    );
  }
}

if (scenarios.includes('compression')) {
  // Compress-once broadcasts (issue 15 item 2): every subscriber offers permessage-deflate.
  const deflating = (connect) => (index) => ({ ...connectOptions(connect, index), perMessageDeflate: true });
  const compressionTargets = {
    rawdeflate: {
      label: 'raw ws, per-socket permessage-deflate',
      start: (port) =>
        new ServerProcess('raw ws with perMessageDeflate', `${root}/bench/servers/raw-ws.mjs`, port, {
          WS_DEFLATE: 'on',
        }),
      connect: deflating({}),
      client: jsonClient,
    },
    socketiodeflate: {
      label: 'Socket.IO, perMessageDeflate',
      start: (port) =>
        new ServerProcess('socket.io with perMessageDeflate', `${root}/bench/servers/socketio.mjs`, port, {
          JWT_SECRET: secret,
          PER_MESSAGE_DEFLATE: 'on',
        }),
      connect: deflating((index) => ({ headers: { authorization: `Bearer ${tokenFor(index)}` } })),
      client: socketIoClient,
    },
    sampledeflate: {
      label: 'sample, WS_COMPRESSION=on (compress once)',
      start: (port) =>
        new ServerProcess('nest-realtime sample, compression on', `${root}/dist-sample/sample/main.js`, port, {
          ...sampleEnv,
          WS_COMPRESSION: 'on',
        }),
      connect: deflating(authenticated),
      client: jsonClient,
    },
    sampleplain: {
      label: 'sample, compression off',
      start: (port) => new ServerProcess('nest-realtime sample', `${root}/dist-sample/sample/main.js`, port, sampleEnv),
      connect: deflating(authenticated),
      client: jsonClient,
    },
  };
  Object.assign(targets, compressionTargets);
  const kinds = pick(Object.keys(compressionTargets));
  results.compression = {};
  for (const [subscribers, rate] of [
    [1000, 20],
    [5000, 4],
  ]) {
    const { medians: m, rounds: all } = await compare(kinds, (s, connect) =>
      runCompression(s, { subscribers, rate, durationMs, connect, client: targets[s.kind].client }),
    );
    results.compression[subscribers] = { medians: m, rounds: all };
    console.log(
      `\nCompression, one room, ${subscribers} subscribers offering permessage-deflate, ${rate} msg/s of 2 KB ` +
        `(median of ${rounds} rounds)`,
    );
    table(
      kinds.map((k) => ({
        server: targets[k].label,
        'server CPU µs/delivery': fmt(m[k].cpuUsPerDelivery, 2),
        'wire B/delivery': fmt(m[k].wireBytesPerDelivery, 0),
        'generator CPU µs/delivery': fmt(m[k].generatorCpuUsPerDelivery, 1),
        compressed: m[k].compressedSubscribers,
        'RSS B/conn': fmt(m[k].rssPerConnection, 0),
        'heap B/conn': fmt(m[k].heapPerConnection, 0),
        'deliveries/s': fmt(m[k].deliveriesPerSec, 0),
        'p50 ms': fmt(m[k].p50Ms),
        'p99 ms': fmt(m[k].p99Ms),
        lost: m[k].lost,
        corrupt: m[k].corrupt,
        load: fmt(m[k].loadAvg, 1),
      })),
    );
    if (m.sampledeflate && m.rawdeflate) {
      console.log(
        `compress once / ws per socket: CPU per delivery ${ratio(m.sampledeflate.cpuUsPerDelivery, m.rawdeflate.cpuUsPerDelivery)}, ` +
          `wire bytes ${ratio(m.sampledeflate.wireBytesPerDelivery, m.rawdeflate.wireBytesPerDelivery)}` +
          (m.socketiodeflate
            ? `; / Socket.IO: CPU ${ratio(m.sampledeflate.cpuUsPerDelivery, m.socketiodeflate.cpuUsPerDelivery)}`
            : '') +
          (m.sampleplain
            ? `; compression on / off: CPU ${ratio(m.sampledeflate.cpuUsPerDelivery, m.sampleplain.cpuUsPerDelivery)}, ` +
              `wire ${ratio(m.sampledeflate.wireBytesPerDelivery, m.sampleplain.wireBytesPerDelivery)}`
            : ''),
      );
    }
  }
}

if (scenarios.includes('drain')) {
  // Node a of two (sharing a redis-server of the benchmark's own) drains; its SDK clients move to
  // node b and resume. BENCH_DRAIN_CLIENTS (2000), BENCH_DRAIN_ROOMS (20), BENCH_DRAIN_RATE (40 msg/s).
  const clients = Number(process.env.BENCH_DRAIN_CLIENTS ?? 2000);
  const options = { clients, rooms: Number(process.env.BENCH_DRAIN_ROOMS ?? 20), token: tokenFor };
  options.rate = Number(process.env.BENCH_DRAIN_RATE ?? 40);
  // BENCH_DRAIN_WINDOWS (jitter,zero): which drainReconnect windows; BENCH_BASELINE: that
  // checkout's sample (both nodes) in the same rounds, as "… before".
  const windowKinds = {
    jitter: { label: 'drainReconnect 1–5 s (default)', drainReconnect: undefined },
    zero: { label: 'drainReconnect 0 (at once)', drainReconnect: { minDelay: 0, maxDelay: 0 } },
  };
  const builds = { '': `${root}/dist-sample/sample/main.js` };
  if (process.env.BENCH_BASELINE) builds[' before'] = `${process.env.BENCH_BASELINE}/dist-sample/sample/main.js`;
  const windows = {};
  for (const kind of (process.env.BENCH_DRAIN_WINDOWS ?? 'jitter,zero').split(',')) {
    for (const [build, script] of Object.entries(builds)) {
      windows[kind + build] = { ...windowKinds[kind], label: windowKinds[kind].label + build, script };
    }
  }
  const all = Object.fromEntries(Object.keys(windows).map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    const order = Object.keys(windows);
    for (const kind of round % 2 ? order.reverse() : order) {
      const redis = await startRedis();
      const nodes = (await freePorts(2)).map(
        (p, i) =>
          new ServerProcess(`nest-realtime sample (redis) ${'ab'[i]}`, windows[kind].script, p, {
            ...sampleEnv,
            REDIS_URL: redis.url,
            NODE_ID: 'ab'[i],
          }),
      );
      try {
        await Promise.all(nodes.map((n) => n.ready()));
        const result = {
          ...(await runDrain(nodes, { ...options, drainReconnect: windows[kind].drainReconnect, redis })),
          loadAvg: loadavg()[0],
        };
        console.log(`drain round ${round + 1}, ${windows[kind].label}: ${JSON.stringify(result)}`);
        all[kind].push(result);
      } finally {
        await Promise.all(nodes.map((n) => n.stop()));
        await redis.stop();
      }
    }
  }
  const m = Object.fromEntries(Object.entries(all).map(([k, list]) => [k, median(list)]));
  results.drain = { medians: m, rounds: all };
  console.log(`\nDrain, 2 nodes, ${clients} SDK clients move from a to b (median of ${rounds} rounds)`);
  table(
    Object.keys(windows).map((k) => ({
      clients: windows[k].label,
      '1012 at ms': `${fmt(m[k].firstCloseMs, 0)}–${fmt(m[k].lastCloseMs, 0)}`,
      'all resumed ms': fmt(m[k].allResumedMs, 0),
      'p50 / p99 ms': `${fmt(m[k].p50Ms, 0)} / ${fmt(m[k].p99Ms, 0)}`,
      'attempts / opens per 100 ms (max)': `${m[k].peakAttemptsPer100Ms} / ${m[k].peakPer100Ms}`,
      'node b peak CPU %': fmt(m[k].peakCpuPct, 0),
      'node b CPU s': fmt(m[k].cpuSecondsMove),
      'Redis CPU s, reads': `${fmt(m[k].redisCpuSecondsMove)}, ${m[k].redisReadsMove}`,
      'clients CPU s': fmt(m[k].clientCpuSeconds),
      'gaps / dups / short': `${m[k].gaps} / ${m[k].duplicates} / ${m[k].short}`,
      resume_failed: m[k].resumeFailed,
      retries: m[k].retries,
      load: fmt(m[k].loadAvg, 1),
    })),
  );
}

if (scenarios.includes('presence')) {
  // A join storm of BENCH_PRESENCE_MEMBERS (10 000) users into one room, and churn over
  // BENCH_PRESENCE_ROOMS (10 000) rooms, on one sample node and on two sharing a redis-server of
  // the benchmark's own; with BENCH_BASELINE, that checkout's sample in the same rounds (before).
  // `leave`: BENCH_PRESENCE_LEAVE_* clients in rooms, all terminated at once, on nodes with a
  // redis-server in both layouts (its failed writes are Redis's). BENCH_PRESENCE_LAYOUTS (one,two)
  // picks the layouts. Neither raw ws nor Socket.IO has presence: no peer.
  const members = Number(process.env.BENCH_PRESENCE_MEMBERS ?? 10_000);
  const rooms = Number(process.env.BENCH_PRESENCE_ROOMS ?? 10_000);
  const churnRate = Number(process.env.BENCH_PRESENCE_CHURN_RATE ?? 2000);
  const builds = { after: `${root}/dist-sample/sample/main.js` };
  if (process.env.BENCH_BASELINE) builds.before = `${process.env.BENCH_BASELINE}/dist-sample/sample/main.js`;
  const leave = {
    clients: Number(process.env.BENCH_PRESENCE_LEAVE_CLIENTS ?? 8000),
    rooms: Number(process.env.BENCH_PRESENCE_LEAVE_ROOMS ?? 200),
    roomsPerClient: Number(process.env.BENCH_PRESENCE_LEAVE_ROOMS_PER_CLIENT ?? 10),
  };
  const layouts = Object.fromEntries(
    (process.env.BENCH_PRESENCE_LAYOUTS ?? 'one,two').split(',').map((name) => [name, { one: 1, two: 2 }[name]]),
  );
  if (Object.values(layouts).some((n) => n === undefined)) throw new Error('BENCH_PRESENCE_LAYOUTS: one, two');
  const workloads = (process.env.BENCH_PRESENCE_WORKLOADS ?? 'storm,churn,leave').split(',');
  const all = {};
  for (let round = 0; round < rounds; round++) {
    const order = Object.keys(builds);
    if (round % 2) order.reverse();
    for (const workload of workloads) {
      for (const layout of Object.keys(layouts)) {
        for (const build of order) {
          const key = `${workload} ${layout} ${build}`;
          const redis = layouts[layout] > 1 || workload === 'leave' ? await startRedis() : undefined;
          const nodes = (await freePorts(layouts[layout])).map(
            (p, i) =>
              new ServerProcess(
                `sample ${build} ${'ab'[i]}`,
                builds[build],
                p,
                { ...sampleEnv, NODE_ID: 'ab'[i], ...(redis ? { REDIS_URL: redis.url } : {}) },
                // `leave` counts the failed presence writes in the nodes' logs.
                { logFile: workload === 'leave' },
              ),
          );
          try {
            await Promise.all(nodes.map((n) => n.ready()));
            const options = { connect: targets.sample.connect, redis };
            const result =
              workload === 'storm'
                ? await runPresenceStorm(nodes, { ...options, members })
                : workload === 'leave'
                  ? await runPresenceLeave(nodes, { ...options, ...leave })
                  : await runPresenceChurn(nodes, { ...options, rooms, rate: churnRate, durationMs });
            result.loadAvg = loadavg()[0];
            console.log(`presence round ${round + 1}, ${key}: ${JSON.stringify(result)}`);
            (all[key] ??= []).push(result);
          } finally {
            await Promise.all(nodes.map((n) => n.stop()));
            await redis?.stop();
          }
        }
      }
    }
  }
  const m = Object.fromEntries(
    Object.entries(all).map(([key, list]) => [
      key,
      median(list.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v === 'number')))),
    ]),
  );
  results.presence = { medians: m, rounds: all };
  const storms = Object.keys(m).filter((k) => k.startsWith('storm'));
  if (storms.length) {
    console.log(`\nPresence: join storm of ${members} users into one room (median of ${rounds} rounds)`);
    table(
      storms.map((k) => ({
        run: k.slice(6),
        'all joined ms': fmt(m[k].joinedMs, 0),
        'views converged ms': Number.isNaN(m[k].convergedMs) ? 'never' : fmt(m[k].convergedMs, 0),
        'server CPU ms (µs/join)': `${fmt(m[k].serverCpuMs, 0)} (${fmt(m[k].serverCpuUsPerJoin, 1)})`,
        'Redis CPU ms, commands/join': `${fmt(m[k].redisCpuMs, 0)}, ${fmt(m[k].redisCommandsPerJoin, 2)}`,
        'presence frames (per member), resets': `${m[k].presenceFrames} (${fmt(m[k].presenceFramesPerMember, 1)}), ${m[k].presenceResets}`,
        'presence MB': fmt(m[k].presenceMBytes, 1),
        'heap growth MB': fmt(m[k].heapGrowthMB, 1),
        'presence_state KB, ms': `${fmt(m[k].stateKBytes, 0)}, ${fmt(m[k].stateMs, 0)}`,
        'generator CPU ms': fmt(m[k].generatorCpuMs, 0),
        load: fmt(m[k].loadAvg, 1),
      })),
    );
  }
  const churns = Object.keys(m).filter((k) => k.startsWith('churn'));
  if (churns.length) {
    console.log(`\nPresence: churn over ${rooms} rooms at ${churnRate} joins+leaves/s (median of ${rounds} rounds)`);
    table(
      churns.map((k) => ({
        run: k.slice(6),
        'ops/s': fmt(m[k].operationsPerSec, 0),
        'server CPU µs/op': fmt(m[k].serverCpuUsPerOperation, 1),
        'Redis CPU µs/op': fmt(m[k].redisCpuUsPerOperation, 1),
        'Redis commands/op': fmt(m[k].redisCommandsPerOperation, 2),
        'presence frames/op': fmt(m[k].presenceFramesPerOperation, 2),
        'generator CPU ms': fmt(m[k].generatorCpuMs, 0),
        load: fmt(m[k].loadAvg, 1),
      })),
    );
  }
  const leaves = Object.keys(m).filter((k) => k.startsWith('leave'));
  if (leaves.length) {
    console.log(
      `\nPresence: ${leave.clients} clients in ${leave.roomsPerClient} of ${leave.rooms} rooms leave at once ` +
        `(median of ${rounds} rounds)`,
    );
    table(
      leaves.map((k) => ({
        run: k.slice(6),
        'failed writes, timed out': `${m[k].failedPresenceWrites}, ${m[k].commandsTimedOut}`,
        'empty ms, quiet ms': `${fmt(m[k].emptyMs, 0)}, ${fmt(m[k].quietMs, 0)}`,
        'server CPU ms (µs/leave)': `${fmt(m[k].serverCpuMs, 0)} (${fmt(m[k].serverCpuUsPerLeave, 1)})`,
        'Redis CPU ms, commands/leave': `${fmt(m[k].redisCpuMs, 0)}, ${fmt(m[k].redisCommandsPerLeave, 2)}`,
        'observer frames/leave, resets': `${fmt(m[k].observerFramesPerLeave, 3)}, ${fmt(m[k].observerResets, 0)}`,
        'generator CPU ms': fmt(m[k].generatorCpuMs, 0),
        load: fmt(m[k].loadAvg, 1),
      })),
    );
  }
}

if (scenarios.includes('subscriptions')) {
  // Per-room channels against K sharded channels, at the Redis level (nodes without WebSockets).
  results.subscriptions = await runSubscriptions({ rounds });
  printSubscriptions(results.subscriptions);
}

mkdirSync(`${root}/bench/results`, { recursive: true });
writeFileSync(
  `${root}/bench/results/latest.json`,
  JSON.stringify({ date: new Date().toISOString(), results }, null, 2),
);

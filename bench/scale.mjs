/* global fetch */
// Scale on one machine (issue 15 item 3): `BENCH_SCALE_NODES` (4) sample nodes on one Redis —
// a redis-server of the benchmark's own, or a 3-master Redis Cluster of its own with
// `BENCH_SCALE_REDIS=cluster` (the sample's REDIS_CLUSTER_NODES) — and `BENCH_SCALE_CLIENTS`
// (60 000) authenticated nest-realtime SDK clients (Node, `ws`) spread over them from
// `BENCH_SCALE_WORKERS` (4) generator processes (each process here may hold ~20 000 descriptors).
//
// Rooms: 1 000 rooms of mixed sizes (40% of 1/4 the mean size, 30% of 3/4, 20% of 1.5×, 9% of
// 3.3×, 1% of 7.5×: 15 to 450 members at 60 000 clients) holding every client once, plus one
// room of `BENCH_SCALE_BIG` (10 000) members (every sixth client). Each room spans every node.
// Traffic, steady: `BENCH_SCALE_CHAT_RATE` (100) chats/s from random members into their mixed
// rooms, and REST posts (`POST /rooms/:id/messages` on a random node) at 1/s into the big room
// and 10/s into random mixed rooms.
//
// Phases and what is reported:
//   connect  the storm (every client connects and joins its rooms, 50 in flight per process):
//            duration, connects/s, failures; then memory per connection per node (V8 heap and
//            RSS after forced GCs, against the node's own before the storm);
//   idle     `BENCH_SCALE_IDLE_MS` (15 s) with no traffic: node and Redis CPU of holding the
//            connections (heartbeats, leases, timers), subtracted for the "above idle" figures;
//   steady   `BENCH_SCALE_STEADY_MS` (60 s): deliveries/s, node CPU per delivery (every node's
//            CPU over the phase / every delivery the clients got), Redis CPU and commands per
//            published room frame, p50/p99/p99.9 delivery latency (sender's clock → receiver's,
//            every delivery), the generator's CPU;
//   drain    the last node gets SIGTERM (1012 to its clients) under the same traffic; its clients
//            reconnect to the others (what a load balancer does once the node leaves) and resume:
//            time until every one of them is open again, the peak CPU of each other node
//            (250 ms windows), Redis CPU;
//   verdict  every client delivered every room `seq` after its join exactly once, in order, up to
//            the room's last one (gaps, duplicates, short, resume_failed: all must be 0; the
//            messages a `resume_failed` told a client it missed are counted apart from the gaps,
//            which are then the silent losses only); the
//            nodes' own `websocket_heartbeat_timeouts_total` (0: no healthy connection was cut by
//            the server's heartbeat) and the reconnects the clients saw, by close code.
//
//   node bench/scale.mjs                              # 60 000 clients, standalone Redis (~10 min)
//   BENCH_SCALE_REDIS=cluster node bench/scale.mjs    # on a 3-master Redis Cluster
//   BENCH_SCALE_CLIENTS=4000 BENCH_SCALE_STEADY_MS=10000 node bench/scale.mjs   # a quick look
//
// The sample runs as users run it (`dist-sample/sample/main.js`, JWT, rate limits) with
// MAX_CONNECTIONS 19 500 (a process here may hold 20 000 descriptors) and REST_RATE_LIMIT=0 (one
// poster). The drain is a rolling deploy with surge: a fifth node starts, then the fourth gets
// SIGTERM, and its clients reconnect to any of the four ready nodes (BENCH_SCALE_REPLACEMENT=off:
// to the three others, which at 60 000 clients is more than their descriptors allow).
// `BENCH_SCALE_DRAIN_SPREAD_MS`: the nodes spread a drain's 1012s over that long (DRAIN_SPREAD_MS).
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { freePort, startRedis } from './cluster-fanout.mjs';
import { hs256Sign } from './lib/hs256.mjs';
import { redisDelta, redisStats, startRedisCluster } from './lib/redis-cluster.mjs';
import { ServerProcess } from './lib/server-process.mjs';
import { workerRpc } from './lib/worker-rpc.mjs';
import {
  Histogram,
  machineBusyPct,
  machineCpu,
  mixedRooms,
  mulberry32,
  tcpCounters,
  tcpDelta,
} from './lib/scale-parts.mjs';
import { fmt } from './lib/stats.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Above this share of the machine busy in the steady phase, a drain that went wrong had no CPU to spare.
const HEADROOM_BUSY_PCT = 90;
const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const secret = 'bench-scale-secret-0123456789abcdef0123456789';
const now = () => performance.timeOrigin + performance.now();

function settings() {
  const n = (name, fallback) => Number(process.env[name] ?? fallback);
  const clients = n('BENCH_SCALE_CLIENTS', 60_000);
  const rooms = n('BENCH_SCALE_ROOMS', 1000);
  const chatRate = n('BENCH_SCALE_CHAT_RATE', 100);
  const restBigRate = n('BENCH_SCALE_REST_BIG_RATE', 1);
  const restMixedRate = n('BENCH_SCALE_REST_MIXED_RATE', 10);
  const drainTimeoutMs = n('BENCH_SCALE_DRAIN_TIMEOUT_MS', 600_000);
  return {
    clients,
    nodes: n('BENCH_SCALE_NODES', 4),
    workers: n('BENCH_SCALE_WORKERS', 4),
    rooms,
    bigEvery: Math.max(1, Math.round(clients / n('BENCH_SCALE_BIG', 10_000))),
    chatRate,
    restBigRate,
    restMixedRate,
    steadyMs: n('BENCH_SCALE_STEADY_MS', 60_000),
    idleMs: n('BENCH_SCALE_IDLE_MS', 15_000),
    concurrency: n('BENCH_SCALE_CONCURRENCY', 50),
    redis: process.env.BENCH_SCALE_REDIS ?? 'standalone',
    drain: process.env.BENCH_SCALE_DRAIN !== 'off',
    // How long the drain may take before the verdict counts the clients still away.
    drainTimeoutMs,
    // The nodes' EVENT_LOOP_MAX_DELAY_MS (the module's maxEventLoopDelay; 0: no shedding); the
    // sample's default (1000) when unset.
    shedMs: process.env.BENCH_SCALE_SHED_MS,
    // The nodes' LISTEN_BACKLOG (the sample's default, 4096, when unset; Node's own is 511).
    backlog: process.env.BENCH_SCALE_BACKLOG,
    // The nodes' HANDOVER_GRACE_MS: how long the drained node stays live for presence; a herd
    // that takes longer is announced twice. By default the drain timeout, as docs/deployment.md
    // says to size it (the sample's own default is 30 000).
    handOverGraceMs: n('BENCH_SCALE_HANDOVER_GRACE_MS', drainTimeoutMs),
    // The nodes' HISTORY_SIZE / HISTORY_TTL_MS: what a mover can resume. By default sized for the
    // drain, as docs/deployment.md says to: the drain timeout, times the busiest room's rate (the
    // big room's REST posts, or the chats into the largest mixed room, 7.5× the mean size), plus a
    // fifth. `BENCH_SCALE_HISTORY_SIZE=100 BENCH_SCALE_HISTORY_TTL_MS=300000`: the sample's defaults.
    historyTtlMs: n('BENCH_SCALE_HISTORY_TTL_MS', drainTimeoutMs),
    historySize: n(
      'BENCH_SCALE_HISTORY_SIZE',
      Math.ceil(
        Math.max(restBigRate, ((chatRate + restMixedRate) * 7.5) / rooms) *
          (n('BENCH_SCALE_HISTORY_TTL_MS', drainTimeoutMs) / 1000) *
          1.2,
      ),
    ),
    // The generators' niceness (root only for < 0; lower is more CPU): see the worker fork below.
    generatorNice: n('BENCH_SCALE_GENERATOR_NICE', 0),
    replacement: process.env.BENCH_SCALE_REPLACEMENT !== 'off',
    // The nodes' DRAIN_SPREAD_MS (the module's drainSpread): the drained node's 1012s spread over
    // this long (0, the sample's default: all at once). Its kill comes that much later too.
    drainSpreadMs: n('BENCH_SCALE_DRAIN_SPREAD_MS', 0),
    // The clients' drainReconnect window, `min-max` ms (the SDK's default, 1000-5000, when unset).
    drainReconnect: process.env.BENCH_SCALE_DRAIN_WINDOW
      ? (([minDelay, maxDelay]) => ({ minDelay, maxDelay }))(
          process.env.BENCH_SCALE_DRAIN_WINDOW.split('-').map(Number),
        )
      : undefined,
  };
}

async function main() {
  const s = settings();
  console.log(`scale: ${JSON.stringify(s)}`);
  if (process.env.BENCH_SKIP_BUILD !== '1') {
    execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', `${root}/tsconfig.sample.json`], {
      stdio: 'inherit',
    });
  }
  const redis = s.redis === 'cluster' ? await startRedisCluster(3) : await startRedis();
  const redisPorts = s.redis === 'cluster' ? redis.ports : [Number(new URL(redis.url).port)];
  const redisInfo = redisStats(redisPorts);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const startNode = async (letter) =>
    new ServerProcess(`sample ${letter}`, `${root}/dist-sample/sample/main.js`, await freePort(), {
      LOG_LEVEL: 'warn',
      JWT_SECRET: secret,
      NODE_ID: letter,
      // Below the 20 000 descriptors a process may hold here (the hard limit, which this sandbox
      // cannot raise): past it the node answers 1013 instead of failing accept() with EMFILE.
      MAX_CONNECTIONS: String(Math.min(s.clients, 19_500)),
      REST_RATE_LIMIT: '0',
      ...(s.shedMs !== undefined ? { EVENT_LOOP_MAX_DELAY_MS: s.shedMs } : {}),
      ...(s.backlog !== undefined ? { LISTEN_BACKLOG: s.backlog } : {}),
      HANDOVER_GRACE_MS: String(s.handOverGraceMs),
      DRAIN_SPREAD_MS: String(s.drainSpreadMs),
      HISTORY_SIZE: String(s.historySize),
      HISTORY_TTL_MS: String(s.historyTtlMs),
      ...(s.redis === 'cluster' ? { REDIS_CLUSTER_NODES: redis.seeds } : { REDIS_URL: redis.url }),
    });
  const nodes = [];
  for (let i = 0; i < s.nodes; i++) nodes.push(await startNode(letters[i]));
  const procs = [];
  const result = { settings: s, date: new Date().toISOString(), loadBefore: loadavg()[0] };
  const tcpAtStart = tcpCounters();
  try {
    await Promise.all(nodes.map((node) => node.ready()));
    const urls = nodes.map((node) => `ws://127.0.0.1:${node.port}/ws`);
    const baseline = await Promise.all(nodes.map((node) => node.memory()));

    for (let w = 0; w < s.workers; w++) {
      procs.push(
        fork(self, [], {
          env: { ...process.env, SCALE_WORKER: '1' },
          execArgv: ['--max-old-space-size=6144'],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        }),
      );
    }
    // BENCH_SCALE_GENERATOR_NICE: the generators stand for 60 000 clients that would each have a
    // CPU of their own, and a starved generator misses deadlines the nodes did not cause. But
    // given priority (-10) they starved the nodes in the drain instead — their reconnect herd
    // took 1.5 of the 2 cores — so they share the CPU by default (0).
    for (const proc of s.generatorNice === 0 ? [] : procs) {
      try {
        setPriority(proc.pid, s.generatorNice);
      } catch (error) {
        console.warn(
          `generator niceness ${s.generatorNice} refused (${error.code}): generators compete with the nodes`,
        );
      }
    }
    const rpc = workerRpc(procs);
    await rpc.all(); // each worker is listening

    // Connect storm.
    const slots = mixedRooms(s.clients, s.rooms);
    const per = Math.ceil(s.clients / s.workers);
    const connectStart = Date.now();
    const cpuConnect = nodes.map((node) => node.cpuSeconds());
    const connected = await rpc.each((w) => {
      const from = w * per;
      const count = Math.max(0, Math.min(per, s.clients - from));
      return {
        cmd: 'start',
        from,
        count,
        mixed: slots.slice(from, from + count),
        bigEvery: s.bigEvery,
        urls,
        concurrency: s.concurrency,
        drainReconnect: s.drainReconnect,
      };
    });
    const connectMs = Date.now() - connectStart;
    result.connect = {
      ms: connectMs,
      perSecond: s.clients / (connectMs / 1000),
      failed: sum(connected, 'failed'),
      retries: sum(connected, 'retries'),
      generatorCpuSeconds: sum(connected, 'cpu'),
      nodeCpuSeconds: nodes.map((node, i) => node.cpuSeconds() - cpuConnect[i]),
    };
    console.log(`connect: ${JSON.stringify(result.connect)}`);
    if (result.connect.failed > 0) throw new Error(`${result.connect.failed} clients failed to connect`);

    // Past the clients' stableConnectionTime (5 s) and the presence storm of the joins.
    await sleep(8000);
    const perNode = mergeCounts(connected.map((c) => c.perNode));
    const memory = await Promise.all(nodes.map((node) => node.memory()));
    result.memory = nodes.map((node, i) => {
      const conns = perNode[letters[i]] ?? 0;
      return {
        node: letters[i],
        connections: conns,
        heapBytesPerConnection: (memory[i].heapUsed - baseline[i].heapUsed) / conns,
        rssBytesPerConnection: (memory[i].rss - baseline[i].rss) / conns,
        rssMiB: memory[i].rss / 2 ** 20,
      };
    });
    console.log(`memory: ${JSON.stringify(result.memory)}`);

    // Idle: what holding the connections costs (heartbeats, leases, timers), to tell the
    // per-delivery cost from the fixed one.
    const idleFrom = { cpu: nodes.map((n) => n.cpuSeconds()), redis: await redisInfo.read(), at: Date.now() };
    await sleep(s.idleMs);
    const idleSeconds = (Date.now() - idleFrom.at) / 1000;
    const idleRedis = redisDelta(idleFrom.redis, await redisInfo.read());
    result.idle = {
      seconds: idleSeconds,
      nodeCpuPct: nodes.map((n, i) => ((n.cpuSeconds() - idleFrom.cpu[i]) / idleSeconds) * 100),
      redisCpuPct: (idleRedis.cpuSeconds / idleSeconds) * 100,
      redisCommandsPerSecond: idleRedis.total / idleSeconds,
      redisCalls: idleRedis.calls,
    };
    console.log(`idle: ${JSON.stringify(result.idle)}`);

    // Steady traffic.
    const poster = restPoster(nodes, s, slots);
    await rpc.all({ cmd: 'traffic', rate: s.chatRate / s.workers, window: 'steady' });
    poster.start();
    await sleep(2000); // warm-up; the measured window starts now
    await rpc.all({ cmd: 'mark', window: 'steady' });
    await Promise.all(nodes.map(scrape)); // starts the nodes' event-loop lag windows
    const steadyFrom = {
      cpu: nodes.map((n) => n.cpuSeconds()),
      redis: await redisInfo.read(),
      machine: machineCpu(),
      at: Date.now(),
    };
    const frames0 = poster.posted;
    const sampler = cpuSampler(nodes);
    await sleep(s.steadyMs);
    const steadySnap = await rpc.all({ cmd: 'snapshot' });
    const steadyRedis = redisDelta(steadyFrom.redis, await redisInfo.read());
    const steadyCpu = nodes.map((n, i) => n.cpuSeconds() - steadyFrom.cpu[i]);
    const steadySeconds = (Date.now() - steadyFrom.at) / 1000;
    const steadyPeaks = sampler.stop();
    const deliveries = sum(steadySnap, 'delivered');
    const roomFrames = sum(steadySnap, 'chatsSent') + (poster.posted - frames0);
    const latency = Histogram.merge(steadySnap.map((x) => x.latency));
    result.steady = {
      seconds: steadySeconds,
      deliveries,
      deliveriesPerSecond: deliveries / steadySeconds,
      roomFrames,
      roomFramesPerSecond: roomFrames / steadySeconds,
      nodeCpuSeconds: steadyCpu,
      nodeCpuPct: steadyCpu.map((c) => (c / steadySeconds) * 100),
      nodePeakCpuPct: steadyPeaks,
      nodeCpuUsPerDelivery: (steadyCpu.reduce((a, b) => a + b, 0) / deliveries) * 1e6,
      // Above the idle phase's CPU: what the traffic itself costs.
      nodeMarginalCpuUsPerDelivery: (marginal(steadyCpu, result.idle.nodeCpuPct, steadySeconds) / deliveries) * 1e6,
      redisCpuPct: (steadyRedis.cpuSeconds / steadySeconds) * 100,
      redisCpuUsPerFrame: (steadyRedis.cpuSeconds / roomFrames) * 1e6,
      redisMarginalCpuUsPerFrame:
        (marginal([steadyRedis.cpuSeconds], [result.idle.redisCpuPct], steadySeconds) / roomFrames) * 1e6,
      redisCommandsPerFrame: steadyRedis.total / roomFrames,
      redisMarginalCommandsPerFrame:
        (steadyRedis.total - result.idle.redisCommandsPerSecond * steadySeconds) / roomFrames,
      redisCalls: steadyRedis.calls,
      latencyMs: latency.summary(),
      generatorCpuSeconds: sum(steadySnap, 'cpu'),
      generatorLoopDelayMs: steadySnap.map((x) => x.loopDelayMs),
      // Everything runs on this machine: how much of it the steady phase left idle.
      machineBusyPct: machineBusyPct(steadyFrom.machine, machineCpu()),
      nodeLoopDelay: await Promise.all(nodes.map(scrape)),
      chatsRefused: sum(steadySnap, 'refused'),
      restRefused: poster.refused,
      loadAvg: loadavg()[0],
    };
    console.log(`steady: ${JSON.stringify(result.steady)}`);

    // Drain the last node under the same traffic.
    if (s.drain) {
      // A rolling deploy with surge: the replacement is up before the old node leaves (three nodes
      // could not take 60 000 connections here, at 20 000 descriptors a process).
      const leaving = nodes.length - 1;
      if (s.replacement) {
        const replacement = await startNode(letters[nodes.length]);
        await replacement.ready();
        nodes.push(replacement);
        await rpc.all({ cmd: 'add-node', url: `ws://127.0.0.1:${replacement.port}/ws` });
      }
      const others = nodes.filter((_, i) => i !== leaving);
      const metricsBefore = await scrape(nodes[leaving]);
      const drainSampler = cpuSampler(others);
      const redisBefore = await redisInfo.read();
      const tcpBefore = tcpCounters();
      const machineBefore = machineCpu();
      const cpuBefore = others.map((n) => n.cpuSeconds());
      const marked = await rpc.all({ cmd: 'down', node: leaving, window: 'drain' });
      const drainedAt = Date.now();
      nodes[leaving].stopping = true; // the REST poster stops choosing it
      // Kubernetes' default grace period (30 s), plus the spread of the 1012s, as docs/deployment.md says.
      const killAfterMs = 30_000 + s.drainSpreadMs;
      const stopping = nodes[leaving].stop({ killAfterMs });
      const moved = await rpc.all({ cmd: 'await-moved', timeoutMs: s.drainTimeoutMs });
      const allMovedAt = Date.now();
      const exit = await stopping;
      const times = moved.flatMap((m) => m.times).map((t) => t - drainedAt);
      times.sort((a, b) => a - b);
      const peaks = drainSampler.stop();
      const redisMove = redisDelta(redisBefore, await redisInfo.read());
      result.drain = {
        node: letters[leaving],
        // How long the drained node took to exit after SIGTERM, and whether it had to be killed.
        exit,
        killAfterMs,
        clients: sum(marked, 'marked'),
        resumed: times.length,
        allResumedMs: times.at(-1),
        p50Ms: times[Math.floor(times.length / 2)],
        p99Ms: times[Math.min(times.length - 1, Math.ceil(times.length * 0.99) - 1)],
        peakCpuPctOthers: peaks,
        others: others.map((n) => n.name),
        cpuSecondsOthers: others.map((n, i) => n.cpuSeconds() - cpuBefore[i]),
        redisCpuSeconds: redisMove.cpuSeconds,
        generatorCpuSeconds: sum(moved, 'cpu'),
        generatorLoopDelayMs: moved.map((m) => m.loopDelayMs),
        notMoved: mergeCounts(moved.map((m) => m.notMoved)),
        // Each generator's garbage collection during the move: pauses and the largest heap seen.
        generatorGc: moved.map((m) => m.gc),
        seconds: (allMovedAt - drainedAt) / 1000,
        // Machine-wide: accept-queue overflows and retransmissions during the move.
        tcp: tcpDelta(tcpBefore, tcpCounters()),
        machineBusyPct: machineBusyPct(machineBefore, machineCpu()),
        leavingNodeMetrics: metricsBefore,
      };
      await sleep(5000); // traffic goes on after the move
      result.drain.latencyMs = Histogram.merge((await rpc.all({ cmd: 'snapshot' })).map((x) => x.latency)).summary();
      console.log(`drain: ${JSON.stringify(result.drain)}`);
    }

    // Verdict.
    await rpc.all({ cmd: 'stop-traffic' });
    await poster.stop();
    await sleep(3000);
    const lastSeq = {};
    for (const seen of await rpc.all({ cmd: 'max-seq' })) {
      for (const [room, seq] of Object.entries(seen)) lastSeq[room] = Math.max(lastSeq[room] ?? 0, seq);
    }
    for (const [room, seq] of Object.entries(poster.acked)) {
      if (!(seq <= (lastSeq[room] ?? 0))) lastSeq[room] = seq; // a posted frame no member got
    }
    const verdicts = await rpc.all({ cmd: 'verify', lastSeq });
    const handshakes = verdicts.map((v) => v.handshake);
    const alive = nodes.filter((n) => !n.stopping);
    const metrics = await Promise.all(alive.map(scrape));
    result.verdict = {
      rooms: Object.keys(lastSeq).length,
      roomFramesTotal: Object.values(lastSeq).reduce((a, b) => a + b, 0),
      delivered: sum(verdicts, 'delivered'),
      gaps: sum(verdicts, 'gaps'),
      toldGaps: sum(verdicts, 'toldGaps'),
      duplicates: sum(verdicts, 'duplicates'),
      short: sum(verdicts, 'short'),
      resumeFailed: sum(verdicts, 'resumeFailed'),
      resumeFailedReasons: mergeCounts(verdicts.map((v) => v.reasons)),
      closeCodes: mergeCounts(verdicts.map((v) => v.closeCodes)),
      afterDrain: {
        moverFrames: mergeCounts(verdicts.map((v) => v.afterDrain.moverFrames)),
        stayerFrames: mergeCounts(verdicts.map((v) => v.afterDrain.stayerFrames)),
        stayerLostAt: mergeCounts(verdicts.map((v) => v.afterDrain.stayerLostAt)),
        stayerDiffUsers: mergeCounts(verdicts.map((v) => v.afterDrain.stayerDiffUsers)),
        socketErrors: mergeCounts(verdicts.map((v) => v.afterDrain.socketErrors)),
        handshake: {
          toAuthMs: Histogram.merge(verdicts.map((v) => v.handshake.toAuth)).summary(),
          toResumedMs: Histogram.merge(verdicts.map((v) => v.handshake.toResumed)).summary(),
          stuckAfterConnected: sum(handshakes, 'stuckAfterConnected'),
          stuckAfterAuth: sum(handshakes, 'stuckAfterAuth'),
        },
      },
      clientHeartbeatDeaths: sum(verdicts, 'heartbeatDeaths'),
      nodeMetrics: Object.fromEntries(alive.map((n, i) => [n.name, metrics[i]])),
      overloadRefusals: metrics.reduce((total, m) => total + m.overloadRefusals, 0),
      tcp: tcpDelta(tcpAtStart, tcpCounters()),
      heartbeatTimeouts:
        metrics.reduce((total, m) => total + m.heartbeatTimeouts, 0) +
        (result.drain?.leavingNodeMetrics.heartbeatTimeouts ?? 0),
    };
    console.log(`verdict: ${JSON.stringify(result.verdict)}`);
    await rpc.all({ cmd: 'exit' });
  } finally {
    for (const proc of procs) if (proc.exitCode === null) proc.kill('SIGKILL');
    await Promise.all(nodes.map((node) => node.stop()));
    redisInfo.close();
    await redis.stop();
  }
  result.loadAfter = loadavg()[0];
  mkdirSync(`${root}/bench/results`, { recursive: true });
  const file = `${root}/bench/results/scale-${s.redis}.json`;
  writeFileSync(file, JSON.stringify(result, null, 2));
  printSummary(result);
  console.log(`\nraw results: ${file}`);
}

/** CPU seconds above what the idle phase's rates (`idlePct`, per process) would have used. */
const marginal = (cpuSeconds, idlePct, seconds) =>
  cpuSeconds.reduce((total, cpu, i) => total + cpu - (idlePct[i] / 100) * seconds, 0);

const sum = (list, key) => list.reduce((total, item) => total + (item[key] ?? 0), 0);

function mergeCounts(maps) {
  const total = {};
  for (const map of maps) for (const [k, v] of Object.entries(map ?? {})) total[k] = (total[k] ?? 0) + v;
  return total;
}

/** REST posts at the run's rates, from one user with a token of its own, to a random node each. */
function restPoster(nodes, s, slots) {
  const token = hs256Sign(secret, {
    user_id: 'rest-poster',
    username: 'REST poster',
    roles: ['user'],
    exp: Math.floor(Date.now() / 1000) + 6 * 3600,
  });
  const random = mulberry32(7);
  const state = { posted: 0, refused: 0, acked: {}, timer: undefined, inFlight: new Set() };
  const post = (room) => {
    const live = nodes.filter((node) => node.child.exitCode === null && !node.stopping);
    const node = live[Math.floor(random() * live.length)];
    const request = fetch(`http://127.0.0.1:${node.port}/rooms/${room}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: `${now()}|rest post into ${room}` }),
    })
      .then(async (response) => {
        if (response.status !== 202) throw new Error(String(response.status));
        const { seq } = await response.json();
        state.posted++;
        state.acked[room] = Math.max(state.acked[room] ?? 0, seq);
      })
      .catch(() => state.refused++)
      .finally(() => state.inFlight.delete(request));
    state.inFlight.add(request);
  };
  return {
    get posted() {
      return state.posted;
    },
    get refused() {
      return state.refused;
    },
    acked: state.acked,
    start() {
      const started = Date.now();
      let big = 0;
      let mixed = 0;
      state.timer = setInterval(() => {
        const elapsed = (Date.now() - started) / 1000;
        for (; big < elapsed * s.restBigRate; big++) post('scale-big');
        for (; mixed < elapsed * s.restMixedRate; mixed++) post(`scale-${slots[Math.floor(random() * slots.length)]}`);
      }, 20);
    },
    async stop() {
      clearInterval(state.timer);
      await Promise.all(state.inFlight);
    },
  };
}

/** Peak CPU % of each node over 250 ms windows until stop(). */
function cpuSampler(nodes) {
  let last = nodes.map((n) => n.cpuSeconds());
  let lastAt = performance.now();
  const peaks = nodes.map(() => 0);
  const timer = setInterval(() => {
    const at = performance.now();
    nodes.forEach((n, i) => {
      if (n.child.exitCode !== null) return;
      const cpu = n.cpuSeconds();
      peaks[i] = Math.max(peaks[i], ((cpu - last[i]) / ((at - lastAt) / 1000)) * 100);
      last[i] = cpu;
    });
    lastAt = at;
  }, 250);
  return {
    stop() {
      clearInterval(timer);
      return peaks;
    },
  };
}

/** The node's own counters that tell whether a healthy connection was cut. */
async function scrape(node) {
  const text = await (await fetch(`http://127.0.0.1:${node.port}/metrics`)).text();
  const value = (name) => {
    let total = 0;
    for (const [, v] of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'gm'))) total += Number(v);
    return total;
  };
  return {
    heartbeatTimeouts: value('websocket_heartbeat_timeouts_total'),
    // Upgrades shed while the node's loop ran late (maxEventLoopDelay).
    overloadRefusals: value('websocket_connection_errors_total\\{[^}]*reason="overloaded"[^}]*\\}'),
    slowConsumerCloses: value('websocket_slow_consumer_closes_total'),
    droppedFrames: value('websocket_dropped_frames_total'),
    rateLimited: value('websocket_rate_limited_total'),
    activeConnections: value('websocket_active_connections'),
    // Upgrades and connections refused, by reason (capacity, overloaded, handshake_timeout…).
    connectionErrors: Object.fromEntries(
      [...text.matchAll(/^websocket_connection_errors_total\{[^}]*reason="([^"]+)"[^}]*\} ([0-9.e+]+)$/gm)].map(
        ([, reason, v]) => [reason, Number(v)],
      ),
    ),
    // prom-client's event-loop lag, over the time since the previous scrape.
    loopLagP50Ms: value('nodejs_eventloop_lag_p50_seconds') * 1000,
    loopLagP99Ms: value('nodejs_eventloop_lag_p99_seconds') * 1000,
    loopLagMaxMs: value('nodejs_eventloop_lag_max_seconds') * 1000,
  };
}

function printSummary(r) {
  const rows = [];
  const row = (what, value) => rows.push({ what, value });
  row('clients / nodes / generator processes', `${r.settings.clients} / ${r.settings.nodes} / ${r.settings.workers}`);
  row('Redis', r.settings.redis === 'cluster' ? '3-master Redis Cluster' : 'one redis-server');
  row(
    'connect storm',
    `${fmt(r.connect.ms / 1000, 1)} s (${fmt(r.connect.perSecond, 0)} connects/s), retries ${r.connect.retries}`,
  );
  for (const m of r.memory) {
    row(
      `node ${m.node}: connections, heap / RSS per connection`,
      `${m.connections}, ${fmt(m.heapBytesPerConnection, 0)} B / ${fmt(m.rssBytesPerConnection, 0)} B`,
    );
  }
  const st = r.steady;
  row('steady: deliveries/s, room frames/s', `${fmt(st.deliveriesPerSecond, 0)}, ${fmt(st.roomFramesPerSecond, 1)}`);
  row(
    'idle: node CPU % (each), Redis CPU %, Redis commands/s',
    `${r.idle.nodeCpuPct.map((p) => fmt(p, 1)).join(' / ')}, ${fmt(r.idle.redisCpuPct, 1)}, ${fmt(r.idle.redisCommandsPerSecond, 0)}`,
  );
  row(
    'steady: node CPU per delivery (all nodes), above idle',
    `${fmt(st.nodeCpuUsPerDelivery)} µs, ${fmt(st.nodeMarginalCpuUsPerDelivery)} µs`,
  );
  row('steady: node CPU % (each)', st.nodeCpuPct.map((p) => fmt(p, 0)).join(' / '));
  row(
    'steady: Redis CPU per room frame (above idle), commands per frame (above idle)',
    `${fmt(st.redisCpuUsPerFrame, 1)} µs (${fmt(st.redisMarginalCpuUsPerFrame, 1)} µs), ${fmt(st.redisCommandsPerFrame, 1)} (${fmt(st.redisMarginalCommandsPerFrame, 1)})`,
  );
  row(
    'steady: latency p50 / p99 / p99.9 / max',
    `${fmt(st.latencyMs.p50, 1)} / ${fmt(st.latencyMs.p99, 1)} / ${fmt(st.latencyMs.p999, 1)} / ${fmt(st.latencyMs.max, 0)} ms`,
  );
  row('steady: generator CPU', `${fmt(st.generatorCpuSeconds, 1)} s over ${fmt(st.seconds, 0)} s`);
  row(
    "steady: generators' event-loop delay p99 / max",
    st.generatorLoopDelayMs.map((l) => `${fmt(l.p99, 0)} / ${fmt(l.max, 0)}`).join(', ') + ' ms',
  );
  if (st.machineBusyPct !== undefined) row('steady: machine CPU busy (all cores)', `${fmt(st.machineBusyPct, 0)}%`);
  if (r.drain) {
    const d = r.drain;
    row(
      `drain node ${d.node}: clients moved, all resumed`,
      `${d.resumed} of ${d.clients}, ${fmt(d.allResumedMs / 1000, 1)} s (p50 ${fmt(d.p50Ms / 1000, 1)} s)`,
    );
    if (Object.keys(d.notMoved ?? {}).length > 0) row('drain: the clients not back', JSON.stringify(d.notMoved));
    row(
      `drain: node ${d.node} exited after SIGTERM`,
      `${fmt(d.exit.exitMs / 1000, 1)} s${d.exit.killed ? ` (killed at ${d.killAfterMs / 1000} s)` : ''}`,
    );
    row('drain: peak CPU % of the others', d.peakCpuPctOthers.map((p) => fmt(p, 0)).join(' / '));
    if (d.machineBusyPct !== undefined) row('drain: machine CPU busy (all cores)', `${fmt(d.machineBusyPct, 0)}%`);
    row(
      'drain: latency p50 / p99 / max',
      `${fmt(d.latencyMs.p50, 1)} / ${fmt(d.latencyMs.p99, 1)} / ${fmt(d.latencyMs.max, 0)} ms`,
    );
    row(
      "drain: generators' event-loop delay p99 / max",
      d.generatorLoopDelayMs.map((l) => `${fmt(l.p99, 0)} / ${fmt(l.max, 0)}`).join(', ') + ' ms',
    );
    if (d.generatorGc) {
      row(
        "drain: generators' GC: pauses, total / longest, largest heap",
        d.generatorGc
          .map((g) => `${g.count}, ${fmt(g.totalMs / 1000, 1)} s / ${fmt(g.maxMs, 0)} ms, ${fmt(g.maxHeapMiB, 0)} MiB`)
          .join('; '),
      );
    }
  }
  const v = r.verdict;
  row(
    'verdict: delivered, gaps / dups / short / resume_failed',
    `${v.delivered}, ${v.gaps} / ${v.duplicates} / ${v.short} / ${v.resumeFailed}`,
  );
  row('verdict: messages skipped by resume_failed (the client was told)', `${v.toldGaps}`);
  row(
    'verdict: heartbeat timeouts (server), client heartbeat deaths',
    `${v.heartbeatTimeouts}, ${v.clientHeartbeatDeaths}`,
  );
  row('verdict: upgrades shed by the nodes (maxEventLoopDelay)', String(v.overloadRefusals));
  if (v.tcp) {
    row(
      'verdict: TCP listen overflows, retransmitted segments (drain / whole run)',
      `${r.drain?.tcp?.listenOverflows ?? '—'} / ${v.tcp.listenOverflows}, ${r.drain?.tcp?.retransmittedSegments ?? '—'} / ${v.tcp.retransmittedSegments}`,
    );
  }
  row('verdict: reconnects by close code', JSON.stringify(v.closeCodes));
  const h = v.afterDrain?.handshake;
  if (h) {
    row(
      'after the drain: connected → auth_success, → resumed p50 / p99 (ms)',
      `${fmt(h.toAuthMs.p50, 0)} / ${fmt(h.toAuthMs.p99, 0)}, ${fmt(h.toResumedMs.p50, 0)} / ${fmt(h.toResumedMs.p99, 0)}`,
    );
    row(
      'after the drain: attempts stuck after connected / after auth',
      `${h.stuckAfterConnected} / ${h.stuckAfterAuth}`,
    );
    row('after the drain: socket errors', JSON.stringify(v.afterDrain.socketErrors));
  }
  console.table(rows);
  // The drain's herd needs CPU on top of the steady traffic's (the other nodes' resumes, the
  // generators' reconnects). A drain that went wrong on a machine with none to spare says first
  // that the machine was too small for the run (bench/README.md, "The drain needs CPU to spare").
  const drainWentWrong = r.drain && (r.drain.resumed < r.drain.clients || r.verdict.heartbeatTimeouts > 0);
  if (drainWentWrong && r.steady.machineBusyPct >= HEADROOM_BUSY_PCT)
    console.log(
      `note: the machine was ${fmt(r.steady.machineBusyPct, 0)}% busy in the steady phase, before the drain: ` +
        "the herd's CPU had to come out of the traffic's; read this drain as the machine's limit first.",
    );
}

// Last: main() uses the helpers above, which exist only once their declarations have run.
if (process.env.SCALE_WORKER === '1') {
  const { worker } = await import('./lib/scale-worker.mjs');
  await worker(secret);
} else {
  await main();
}

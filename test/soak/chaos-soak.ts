/**
 * The chaos soak (issue 14): three sample nodes on one Redis, each behind a {@link FaultProxy};
 * a fleet of SDK clients chatting pipelined in many rooms while faults are injected on a
 * schedule; then every room message is judged for every member ({@link DeliveryLedger}) and the
 * nodes and Redis are checked for leftovers. Prints the figures; exits 1 when anything was lost,
 * duplicated, reordered or crossed, or something was left behind.
 *
 *   npm run soak                                   # short form (CI): 60 s, 90 clients
 *   SOAK_SECONDS=420 SOAK_CLIENTS=300 npm run soak # long form (test/soak/README.md)
 *
 * Built with the sample by `tsconfig.soak.json` into `dist-sample/`; node logs, the probe files
 * and `report.json` go to `test-results/soak/`.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, TestRedis } from '../support/redis-server.js';
import { hsToken } from '../support/tokens.js';
import { ClientFleet } from './client-fleet.js';
import { FaultProxy } from './fault-proxy.js';
import { CYCLE_SECONDS, faultCycle } from './fault-schedule.js';
import type { NodeProbe } from './node-probe.js';
import { redisKeys } from './redis-keys.js';
import { SampleNode } from './sample-node.js';

const env = process.env;
const number = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
const seconds = number('SOAK_SECONDS', 60);
const clients = number('SOAK_CLIENTS', 90);
const config = {
  seconds,
  clients,
  rooms: number('SOAK_ROOMS', Math.max(4, Math.round(clients / 3))),
  roomsPerClient: number('SOAK_ROOMS_PER_CLIENT', 3),
  messagesPerSecond: number('SOAK_RATE', clients),
  pipeline: number('SOAK_PIPELINE', 3),
};
/** Settled heap a node may keep above its start after its clients are gone (sessions wait `sessionTtl`). */
const HEAP_SLACK_BYTES = number('SOAK_HEAP_SLACK_MB', 24) * 1024 * 1024;
/** Timers a node may hold above its start once idle (a sweep, a heartbeat started lazily...). */
const TIMER_SLACK = 4;
/** Keys expected to stay without a TTL while nodes run: the registry of live nodes (heartbeats). */
const DURABLE_KEYS = new Set(['nest-realtime:nodes']);

const root = fileURLToPath(new URL('../../..', import.meta.url));
const logDir = join(root, 'test-results/soak');
const secret = 'soak-secret-0123456789abcdef0123456789';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const log = (text: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${text}`);

async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) {
      log(`gave up waiting: ${what}`);
      return false;
    }
    await sleep(250);
  }
  return true;
}

async function main(): Promise<number> {
  rmSync(logDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  log(`config ${JSON.stringify(config)}`);
  const began = Date.now();

  const redis = await TestRedis.start();
  const proxies = await Promise.all([0, 1, 2].map(() => FaultProxy.start(redis.port)));
  const nodes: SampleNode[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const nodeEnv = { REDIS_URL: proxies[i].url, JWT_SECRET: secret, LOG_LEVEL: 'warn', RATE_LIMIT_PER_SEC: '100' };
    nodes.push(new SampleNode(`node-${'abc'[i]}`, port, root, nodeEnv, logDir));
  }
  const failures: string[] = [];
  try {
    await Promise.all(nodes.map((node) => node.start()));
    const baseline = new Map<string, NodeProbe>();
    for (const node of nodes) baseline.set(node.id, await node.probe());
    log(`nodes up on ports ${nodes.map((n) => n.port).join(', ')}; Redis on ${redis.port}`);

    const fleet = new ClientFleet({
      ...config,
      pickUrl: () => {
        const live = nodes.filter((node) => node.running);
        return (live.length ? live : nodes)[Math.floor(Math.random() * (live.length || nodes.length))].url;
      },
      token: (userId) => hsToken({ user_id: userId, username: userId }, secret),
    });
    const connectStart = Date.now();
    await fleet.connect();
    log(`${fleet.size} clients connected and joined in ${Date.now() - connectStart} ms`);

    // Traffic for `seconds`, with the fault cycle repeated over it.
    fleet.startTraffic();
    const started = Date.now();
    const faults: string[] = [];
    const runSleep = (ms: number) => sleep(Math.max(0, Math.min(ms, started + seconds * 1000 - Date.now())));
    for (let cycle = 0; cycle * CYCLE_SECONDS < seconds; cycle++) {
      for (const fault of faultCycle({ redis, nodes, proxies, sleep })) {
        // A fault needs about ten seconds of the run after it, to play out under traffic.
        if (cycle * CYCLE_SECONDS + fault.at + 10 > seconds) break;
        await runSleep(started + (cycle * CYCLE_SECONDS + fault.at) * 1000 - Date.now());
        log(`fault: ${fault.name}`);
        faults.push(fault.name);
        await fault.inject();
      }
    }
    await runSleep(started + seconds * 1000 - Date.now());
    fleet.stopTraffic();
    log('traffic stopped; waiting for every client to be open, then one last message per room');

    if (!(await waitFor('every client open', () => fleet.allOpen(), 60_000))) failures.push('clients not all open');
    await fleet.finalRound(30_000);
    // Deliveries still on their way: wait until nothing is missing any more (or give up).
    await waitFor('every message delivered', () => fleet.ledger.judge().losses === 0, 30_000);
    const judged = fleet.ledger.judge();
    const figures = fleet.report();

    await fleet.disconnect();
    const idle = await waitFor(
      'nodes to forget every connection and room',
      async () => (await Promise.all(nodes.map((n) => n.stats()))).every((s) => s.connections === 0 && s.rooms === 0),
      20_000,
    );
    const stats = await Promise.all(nodes.map(async (node) => ({ id: node.id, ...(await node.stats()) })));
    const probes = [];
    for (const node of nodes) {
      const start = baseline.get(node.id)!;
      const end = await node.probe();
      probes.push({ id: node.id, starts: node.starts, start, end });
    }
    const keys = await redisKeys(redis.port);

    // ---- figures ----
    const leakedKeys = keys.filter((group) => group.withoutTtl > 0 && !DURABLE_KEYS.has(group.pattern));
    const memoryLeaks = probes.filter((p) => p.end.heapUsed - p.start.heapUsed > HEAP_SLACK_BYTES);
    const timerLeaks = probes.filter((p) => p.end.timers - p.start.timers > TIMER_SLACK);
    const leaks = (idle ? 0 : 1) + leakedKeys.length + memoryLeaks.length + timerLeaks.length;
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

    console.log('\n==== chaos soak figures ====');
    console.log(`clients              ${fleet.size} (${config.rooms} rooms, ${config.roomsPerClient} each, 3 nodes)`);
    console.log(
      `run                  ${seconds} s of traffic at ${config.messagesPerSecond} chats/s, pipeline ${config.pipeline}`,
    );
    const byKind = new Map<string, number>();
    for (const fault of faults) byKind.set(fault, (byKind.get(fault) ?? 0) + 1);
    const kinds = [...byKind].map(([fault, times]) => (times > 1 ? `${times}× ${fault}` : fault));
    console.log(`faults injected      ${faults.length}: ${kinds.join('; ')}`);
    console.log(
      `messages sent        ${figures.sent}, acknowledged ${figures.acknowledged}, not acknowledged ${JSON.stringify(figures.unacknowledged)}`,
    );
    console.log(`published            ${judged.published} (acknowledged or delivered to someone)`);
    console.log(
      `member deliveries    ${judged.delivered} of ${judged.expected} owed; ${judged.excused} excused by resume_failed / epoch change (${judged.excusedUnseenEpoch} of them in another node's local epoch during a Redis outage)`,
    );
    console.log(`resume_failed        ${JSON.stringify(figures.resumeFailed)}; reconnects ${figures.reconnects}`);
    console.log(`losses               ${judged.losses}`);
    console.log(`duplicates           ${judged.duplicates} (on the wire, before the SDK: ${figures.wireDuplicates})`);
    console.log(
      `re-delivered         ${judged.redeliveredAcrossEpochs} in a new epoch, after epoch_changed (a publish that timed out but reached Redis: README.md)`,
    );
    console.log(`reorderings          ${judged.reorderings} (on the wire, before the SDK: ${figures.wireReorderings})`);
    console.log(`crossings            ${judged.crossings} (a frame in the wrong room or with the wrong user)`);
    console.log(`client errors        ${JSON.stringify(figures.clientErrors)}`);
    console.log(
      `nodes after close    ${stats.map((s) => `${s.id}: ${s.connections} connections, ${s.rooms} rooms`).join('; ')}`,
    );
    for (const p of probes) {
      console.log(
        `memory ${p.id}        heap ${mb(p.start.heapUsed)} → ${mb(p.end.heapUsed)}, rss ${mb(p.start.rss)} → ${mb(p.end.rss)}, ` +
          `timers ${p.start.timers} → ${p.end.timers} (started ${p.starts}×; the start is its last start)`,
      );
      // A node's extra timers by where they were made: what a timer leak is.
      for (const [site, count] of Object.entries(p.end.timerSites)) {
        const extra = count - (p.start.timerSites[site] ?? 0);
        if (extra > 0) console.log(`  +${extra} timer(s) ${site}`);
      }
    }
    console.log(
      `redis keys left      ${keys.map((k) => `${k.pattern} ×${k.count}${k.withoutTtl ? ` (${k.withoutTtl} without TTL)` : ''}`).join(', ') || 'none'}`,
    );
    console.log(`leaks                ${leaks}`);
    console.log(`wall time            ${Math.round((Date.now() - began) / 1000)} s (without the build)`);
    for (const example of judged.examples) console.log(`  ${example}`);

    if (judged.losses) failures.push(`${judged.losses} losses`);
    if (judged.duplicates) failures.push(`${judged.duplicates} duplicates`);
    if (judged.reorderings) failures.push(`${judged.reorderings} reorderings`);
    if (judged.crossings) failures.push(`${judged.crossings} crossings`);
    if (leaks) failures.push(`${leaks} leaks`);
    if (judged.acknowledged === 0) failures.push('no message was acknowledged');
    writeFileSync(
      join(logDir, 'report.json'),
      JSON.stringify({ config, faults, figures, judged, stats, probes, keys, failures }, null, 2),
    );
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await redis.stop();
  }
  console.log(failures.length ? `\nSOAK FAILED: ${failures.join(', ')}` : '\nSOAK PASSED');
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('SOAK ERROR', error);
    process.exit(2);
  },
);

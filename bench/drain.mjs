// Drain without a herd (issue 12): two sample nodes sharing a redis-server of the benchmark's own,
// `clients` nest-realtime SDK clients (Node, `ws`) on node a, spread over `rooms` rooms, a
// publisher on node b sending a steady stream of chats into the rooms. Node a is drained (SIGTERM
// → app.close(): every connection gets 1012) and its clients reconnect to node b and `resume`.
// Measured: the time from the drain until every client is open again (resumed), how the
// reconnects spread (first / p50 / p99 / last, most arrivals in one 100 ms slot), node b's CPU
// (peak over 250 ms windows, and in total for the move), and that nothing was lost: every client
// delivered every room `seq` after its join exactly once, in order (the SDK's output, as an app
// sees it), up to the room's last one, with no `resume_failed`. On a shared 2-core machine the
// client processes compete with the nodes: their CPU time over the move is reported too.
//
// The clients live in `workers` child processes (this file, forked with DRAIN_WORKER=1) so that
// the load generator is not one core's single event loop; each client is told node a's URL for
// its first connection and node b's for every later one (what `url: () => pickNode()` does).
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { percentile } from './lib/stats.mjs';
import { workerRpc } from './lib/worker-rpc.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

if (process.env.DRAIN_WORKER === '1') await worker();

/**
 * One drain. `nodes`: [a, b] ServerProcess of the sample with a shared REDIS_URL; `token(i)`: a
 * JWT for user i. `drainReconnect`: the clients' option ({ minDelay, maxDelay }).
 */
export async function runDrain(
  nodes,
  { clients = 2000, rooms = 20, rate = 40, workers = 2, drainReconnect, token, settleMs = 6000, afterMs = 2000, redis },
) {
  const [a, b] = nodes;
  const urlA = `ws://127.0.0.1:${a.port}/ws`;
  const urlB = `ws://127.0.0.1:${b.port}/ws`;
  const { RealtimeClient } = await import(`${root}/dist-sample/lib/client/index.js`);
  const { WebSocket } = await import('ws');

  // The publisher: on node b, in every room; its own copies tell each room's last seq.
  const publisher = new RealtimeClient({ url: urlB, WebSocket, token: token(clients), heartbeat: false });
  await publisher.connect();
  const roomIds = Array.from({ length: rooms }, (_, i) => `drain-${i}`);
  await Promise.all(roomIds.map((room) => publisher.join(room)));
  const lastSeq = {};
  publisher.on('chat_message', (_data, envelope) => (lastSeq[envelope.room] = envelope.seq));

  const procs = Array.from({ length: workers }, () =>
    fork(self, [], { env: { ...process.env, DRAIN_WORKER: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  const rpc = workerRpc(procs);
  const all = rpc.all;

  let publishing = true;
  let sent = 0;
  let refused = 0;
  const stream = async () => {
    const start = Date.now();
    while (publishing) {
      const due = start + (sent * 1000) / rate;
      if (due > Date.now()) await sleep(due - Date.now());
      publisher.chat(roomIds[sent % rooms], `p${sent}`).catch(() => refused++);
      sent++;
    }
  };
  let publish = Promise.resolve();

  try {
    const per = Math.ceil(clients / workers);
    const tokens = (from, count) => Array.from({ length: count }, (_, i) => token(from + i));
    await rpc.all(); // each worker is listening
    const setup = await rpc.each((w) => {
      const from = w * per;
      const count = Math.max(0, Math.min(per, clients - from));
      return { cmd: 'start', from, count, tokens: tokens(from, count), urlA, urlB, roomIds, drainReconnect };
    });
    if (setup.some((s) => s.failed > 0)) throw new Error(`clients failed to connect: ${JSON.stringify(setup)}`);
    publish = stream();
    // Past stableConnectionTime (5 s): a 1012 of these connections is a drain of working ones.
    await sleep(settleMs);

    // CPU of node b every 250 ms from just before the drain.
    const samples = [];
    let lastCpu = b.cpuSeconds();
    let lastAt = performance.now();
    const sampler = setInterval(() => {
      const cpu = b.cpuSeconds();
      const at = performance.now();
      samples.push({ at: Date.now(), pct: ((cpu - lastCpu) / ((at - lastAt) / 1000)) * 100 });
      lastCpu = cpu;
      lastAt = at;
    }, 250);
    const cpuBefore = b.cpuSeconds();
    const redisBefore = await redisFigures(redis);
    const drainedAt = Date.now();
    const stopping = a.stop(); // SIGTERM: app.close() sends 1012 to every connection of node a
    const moved = await all({ cmd: 'await-resumed', timeoutMs: 60_000 });
    const resumed = moved.flatMap((r) => r.times);
    const resumedAll = Date.now();
    const cpuMove = b.cpuSeconds() - cpuBefore;
    const redisAfter = await redisFigures(redis);
    await stopping;
    await sleep(afterMs);
    clearInterval(sampler);
    publishing = false;
    await publish;
    await sleep(1000); // the last frames in flight
    const verdicts = await all({ cmd: 'verify', lastSeq });
    await all({ cmd: 'exit' });

    const times = resumed.map((t) => t - drainedAt).sort((x, y) => x - y);
    const closes = moved.flatMap((r) => r.closes).map((t) => t - drainedAt);
    const peakPer100Ms = (list) => {
      const slots = new Map();
      for (const t of list) slots.set(Math.floor(t / 100), (slots.get(Math.floor(t / 100)) ?? 0) + 1);
      return Math.max(...slots.values());
    };
    const during = samples.filter((s) => s.at >= drainedAt && s.at <= resumedAll + 250);
    const sum = (key) => verdicts.reduce((total, v) => total + v[key], 0);
    return {
      clients,
      resumedClients: times.length,
      /** From the SIGTERM to the first and the last 1012 seen by a client: node a's own drain. */
      firstCloseMs: Math.min(...closes),
      lastCloseMs: Math.max(...closes),
      firstMs: times[0],
      p50Ms: percentile(times, 50),
      p99Ms: percentile(times, 99),
      allResumedMs: times[times.length - 1],
      /** Most clients that became open again within one 100 ms slot. */
      peakPer100Ms: peakPer100Ms(times),
      /** Most connection attempts (to node b) started within one 100 ms slot: the herd itself. */
      peakAttemptsPer100Ms: peakPer100Ms(moved.flatMap((r) => r.attempts).map((t) => t - drainedAt)),
      peakCpuPct: Math.max(...during.map((s) => s.pct)),
      cpuSecondsMove: cpuMove,
      /** The redis-server's CPU over the move, and the reads (input batches) it processed. */
      redisCpuSecondsMove: redisAfter.cpu - redisBefore.cpu,
      redisReadsMove: redisAfter.reads - redisBefore.reads,
      /** CPU seconds of the client processes over the same time: is the load generator the limit? */
      clientCpuSeconds: moved.reduce((total, r) => total + r.cpu, 0),
      delivered: sum('delivered'),
      gaps: sum('gaps'),
      duplicates: sum('duplicates'),
      short: sum('short'),
      resumeFailed: sum('resumeFailed'),
      resumeFailedReasons: JSON.stringify(
        verdicts.reduce((total, v) => {
          for (const [reason, n] of Object.entries(v.reasons)) total[reason] = (total[reason] ?? 0) + n;
          return total;
        }, {}),
      ),
      onNodeB: sum('onNodeB'),
      /** Reconnects beyond the one per client (an attempt that failed: timeout, refused, ...). */
      retries: sum('retries'),
      published: sent,
      refused,
    };
  } finally {
    publishing = false;
    for (const proc of procs) if (proc.exitCode === null) proc.kill();
    await publisher.disconnect();
  }
}

/** The redis-server's CPU seconds and `total_reads_processed` (NaN without one). */
async function redisFigures(redis) {
  if (!redis) return { cpu: NaN, reads: NaN };
  const info = await redis.call('INFO', 'stats');
  return { cpu: await redis.cpuSeconds(), reads: Number(/^total_reads_processed:(\d+)/m.exec(info)?.[1] ?? NaN) };
}

/** A child process holding some of the clients; driven over IPC by runDrain. */
async function worker() {
  const { RealtimeClient } = await import(`${root}/dist-sample/lib/client/index.js`);
  const { WebSocket } = await import('ws');
  const state = [];
  const reasons = {};
  const attempts = [];
  const reply = (message) => process.send(message);
  process.on('message', async (message) => {
    if (message?.cmd === 'start') {
      const { from, count, tokens, urlA, urlB, roomIds, drainReconnect } = message;
      let failed = 0;
      for (let i = 0; i < count; i += 100) {
        await Promise.all(
          Array.from({ length: Math.min(100, count - i) }, async (_, j) => {
            const index = from + i + j;
            let opened = 0;
            const client = new RealtimeClient({
              url: () => (opened++ === 0 ? urlA : urlB),
              WebSocket,
              token: tokens[i + j],
              drainReconnect,
            });
            const s = {
              client,
              room: roomIds[index % roomIds.length],
              last: undefined,
              delivered: 0,
              gaps: 0,
              dups: 0,
            };
            s.resumeFailed = 0;
            // The position at the join, read as room_joined arrives: ws may hand over the next
            // frames in the same tick, before `await client.join()` continues.
            client.on('room_joined', (data) => {
              if (data.room_id === s.room && s.last === undefined) s.last = data.seq;
            });
            client.on('chat_message', (_data, envelope) => {
              if (envelope.room !== s.room || s.last === undefined) return;
              if (envelope.seq === s.last + 1) s.delivered++;
              else if (envelope.seq <= s.last) s.dups++;
              else {
                s.gaps++;
                s.delivered++;
              }
              s.last = Math.max(s.last, envelope.seq);
            });
            client.onEvent('resume_failed', ({ reason }) => {
              s.resumeFailed++;
              reasons[reason] = (reasons[reason] ?? 0) + 1;
            });
            s.retries = -1;
            client.onEvent('reconnecting', () => {
              s.closedAt ??= Date.now();
              s.retries++;
            });
            // Every connection attempt after the drain: what node b sees arrive.
            client.onEvent('connecting', () => s.closedAt !== undefined && attempts.push(Date.now()));
            client.onEvent('open', ({ reconnects }) => {
              if (reconnects > 0 && s.resumedAt === undefined) s.resumedAt = Date.now();
            });
            try {
              await client.connect();
              await client.join(s.room);
              state.push(s);
            } catch {
              failed++;
            }
          }),
        );
      }
      reply({ failed });
    } else if (message?.cmd === 'await-resumed') {
      const cpu = process.cpuUsage();
      const deadline = Date.now() + message.timeoutMs;
      while (state.some((s) => s.resumedAt === undefined) && Date.now() < deadline) await sleep(20);
      const { user, system } = process.cpuUsage(cpu);
      const moved = state.filter((s) => s.resumedAt !== undefined);
      reply({
        times: moved.map((s) => s.resumedAt),
        closes: moved.map((s) => s.closedAt),
        attempts,
        cpu: (user + system) / 1e6,
      });
    } else if (message?.cmd === 'verify') {
      // Slow readers on a loaded machine may still have the tail on its way: up to 10 s more.
      const deadline = Date.now() + 10_000;
      while (state.some((s) => s.last !== message.lastSeq[s.room]) && Date.now() < deadline) await sleep(50);
      const v = { delivered: 0, gaps: 0, duplicates: 0, short: 0, resumeFailed: 0, onNodeB: 0, retries: 0, reasons };
      for (const s of state) {
        v.delivered += s.delivered;
        v.gaps += s.gaps;
        v.duplicates += s.dups;
        v.resumeFailed += s.resumeFailed;
        v.retries += s.retries;
        if (s.last !== message.lastSeq[s.room]) v.short++;
        if (s.client.connectionInfo?.node_id === 'b') v.onNodeB++;
      }
      reply(v);
    } else if (message?.cmd === 'exit') {
      await Promise.all(state.map((s) => s.client.disconnect()));
      reply({});
      process.exit(0);
    }
  });
  reply({ ready: true });
}

// What OpenTelemetry tracing costs per handled message, in the dispatcher itself (no sockets: a
// µs-scale difference is far below the round-to-round spread of the end-to-end `echo`): the
// module's real MessageDispatcher, in a real Nest app, dispatching to a connection whose socket
// only counts what it is sent. Each mode runs in its own process, rounds alternate the modes,
// medians are reported.
//
// Modes:
// - `no API`: `@opentelemetry/api` not installed (the tracing service gets no API, exactly what
//   a failed require gives it; `tracing: false` takes the same path);
// - `API, no SDK`: the API installed, nothing registered (the default for an app that has the API
//   through some dependency but does not trace);
// - `SDK`: a BasicTracerProvider with a BatchSpanProcessor whose exporter discards (what an app
//   with an OTLP exporter pays in-process, minus the export), AsyncLocalStorage context manager;
// - `SDK + traceparent`: the same, each message carrying a client `metadata.traceparent`.
// Workloads: `echo` (a synchronous reply: one SERVER span) and `chat` to a room the connection is
// in (SERVER span + PRODUCER span for the broadcast, single node).
//   npx tsc -p tsconfig.sample.json && node bench/tracing-overhead.mjs
// Environment: BENCH_TRACING_MESSAGES (per measurement, default 100 000), BENCH_ROUNDS (default 5).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fmt, table } from './lib/stats.mjs';

const MODES = ['no API', 'API, no SDK', 'SDK', 'SDK + traceparent'];
const WORKLOADS = ['echo', 'chat'];
const messages = Number(process.env.BENCH_TRACING_MESSAGES ?? 100_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const medianOf = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

if (process.argv[2] === '--child') {
  const result = await measure(process.argv[3]);
  process.stdout.write(JSON.stringify(result));
} else {
  const samples = Object.fromEntries(MODES.map((mode) => [mode, { echo: [], chat: [] }]));
  for (let round = 0; round < rounds; round++) {
    // Rotated, so that no mode always runs first (or right after the same neighbour).
    const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]);
    for (const mode of order) {
      const output = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode], {
        encoding: 'utf8',
      });
      const result = JSON.parse(output);
      for (const workload of WORKLOADS) samples[mode][workload].push(result[workload]);
    }
  }
  const base = Object.fromEntries(WORKLOADS.map((w) => [w, medianOf(samples['no API'][w])]));
  const rows = MODES.map((mode) => {
    const row = { mode };
    for (const w of WORKLOADS) {
      const median = medianOf(samples[mode][w]);
      row[`${w} µs`] = fmt(median, 3);
      row[`Δ ${w} µs`] = `${median >= base[w] ? '+' : ''}${fmt(median - base[w], 3)}`;
    }
    return row;
  });
  console.log(`CPU per dispatched message (median of ${rounds} rounds × ${messages} messages)`);
  table(rows);
  console.log('\nWithout an SDK, the decision alone (finer than the dispatch figures can resolve):');
  table(await decisionCost());
}

/**
 * ns per message of what tracing adds when it makes no span: RealtimeTracing's `message()` and
 * `publish()` (a chat makes both) returning undefined, without the API and with it but no SDK,
 * for a message carrying a traceparent (which must not even be parsed then).
 */
async function decisionCost() {
  const api = await import('@opentelemetry/api');
  const { RealtimeTracing } = await import('../dist-sample/lib/tracing/realtime-tracing.js');
  const message = {
    type: 'chat',
    metadata: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  };
  const modes = { 'no API': () => undefined, 'API, no SDK': () => api };
  const samples = { 'no API': [], 'API, no SDK': [] };
  const calls = 10_000_000;
  for (let round = 0; round < rounds; round++) {
    for (const [mode, load] of Object.entries(modes)) {
      const tracing = new RealtimeTracing(true, 'bench', load);
      let made = 0;
      const start = process.cpuUsage();
      for (let i = 0; i < calls; i++) {
        if (tracing.message('chat', message, 100, 'c', undefined) !== undefined) made++;
        if (tracing.publish('room', 'chat_message') !== undefined) made++;
      }
      const used = process.cpuUsage(start);
      if (made !== 0) throw new Error('a span was made without an SDK');
      samples[mode].push(((used.user + used.system) * 1000) / calls);
    }
  }
  return Object.entries(samples).map(([mode, values]) => ({ mode, 'ns per message': fmt(medianOf(values), 1) }));
}

async function measure(mode) {
  const api = await import('@opentelemetry/api');
  const { Test } = await import('@nestjs/testing');
  const { RealtimeModule, RealtimeConnection, RoomManager } = await import('../dist-sample/lib/index.js');
  const { MessageDispatcher } = await import('../dist-sample/lib/dispatch/message.dispatcher.js');
  const { RealtimeTracing } = await import('../dist-sample/lib/tracing/realtime-tracing.js');
  if (mode.startsWith('SDK')) {
    const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
    const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
    const discard = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => undefined };
    api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(discard)] }));
    api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  }
  let builder = Test.createTestingModule({ imports: [RealtimeModule.forRoot({ rateLimit: false, nodeId: 'bench' })] });
  if (mode === 'no API') {
    builder = builder.overrideProvider(RealtimeTracing).useValue(new RealtimeTracing(true, 'bench', () => undefined));
  }
  const app = (await builder.compile()).createNestApplication({ logger: false });
  await app.init();
  const dispatcher = app.get(MessageDispatcher);
  // Every message of both workloads makes exactly one frame (echo_response; chat_message to the
  // sender, a member): a run ends when its last frame was written.
  let sent = 0;
  let waiting;
  const socket = {
    readyState: 1,
    bufferedAmount: 0,
    isPaused: false,
    send: () => {
      sent++;
      if (waiting !== undefined && sent >= waiting.until) waiting.resolve();
    },
    pause() {},
    resume() {},
    close() {},
    terminate() {},
  };
  const connection = new RealtimeConnection('c-bench', 's-bench', socket, '127.0.0.1', Date.now());
  await app.get(RoomManager).join(connection, 'bench-room');
  const metadata =
    mode === 'SDK + traceparent'
      ? ',"metadata":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}'
      : '';
  const frames = {
    echo: Buffer.from(`{"type":"echo","id":"e","data":{"n":1}${metadata}}`),
    chat: Buffer.from(`{"type":"chat","id":"c","data":{"room_id":"bench-room","content":"hello"}${metadata}}`),
  };
  // The chat handler's broadcast is asynchronous: the connection's next messages wait in its
  // inbox meanwhile (PROTOCOL.md, "Ordering"), so a run is timed until its last frame is out.
  const run = async (frame, count) => {
    const done = new Promise((resolve) => (waiting = { until: sent + count, resolve }));
    for (let i = 0; i < count; i++) dispatcher.dispatch(connection, frame);
    await done;
    waiting = undefined;
  };
  for (const workload of WORKLOADS) await run(frames[workload], messages / 5); // warm-up
  const result = {};
  for (const workload of WORKLOADS) {
    // CPU time, not wall time: the machine is shared (2 cores), and waiting for a core is not cost.
    const start = process.cpuUsage();
    await run(frames[workload], messages);
    const used = process.cpuUsage(start);
    result[workload] = (used.user + used.system) / messages;
  }
  if (sent === 0) throw new Error('nothing was sent: the dispatcher did not run');
  await app.close();
  return result;
}

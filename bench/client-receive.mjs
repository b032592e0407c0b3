// The client SDK's CPU per delivered message, against a bare `ws` client doing JSON.parse per
// frame, in two parts:
// - end to end: one server process, one room of BENCH_SUBSCRIBERS members all in THIS process, a
//   publisher at a fixed rate; this process's CPU time (process.cpuUsage) over the sending window
//   and the drain, divided by the deliveries. Every delivery must arrive (zero losses asserted);
// - in process: the same chat_message frames handed straight to the clients' sockets' `onmessage`
//   (no kernel, no `ws` framing), ns per frame: the SDK's own work, which the end-to-end figure
//   (±20 % from round to round on a shared machine) cannot resolve.
//
//   node bench/client-receive.mjs
//   BENCH_BASELINE=/tmp/before node bench/client-receive.mjs   # also the SDK built at another commit
//
// BENCH_BASELINE is a directory holding the `tsc -p tsconfig.sample.json` output of another commit
// in BENCH_BASELINE/dist-sample: its RealtimeClient runs as "sdk before", in the same rounds.
// Knobs: BENCH_SUBSCRIBERS (2000), BENCH_RATE (msg/s, 40), BENCH_DURATION_MS (5000), BENCH_ROUNDS
// (3; the in-process part runs twice as many), BENCH_MICRO_CLIENTS (the in-process part's clients,
// BENCH_SUBSCRIBERS by default: thousands of clients' state does not stay in the CPU's caches),
// BENCH_E2E=off (the in-process part only), BENCH_SDK_ONLY=1 (no other variant: for
// `node --cpu-prof bench/client-receive.mjs`), BENCH_SKIP_BUILD=1.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { freePort } from './cluster-fanout.mjs';
import { open } from './echo.mjs';
import { joinRoom } from './fanout.mjs';
import { ServerProcess } from './lib/server-process.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 2000);
const rate = Number(process.env.BENCH_RATE ?? 40);
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 5000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
// A free port, not a fixed one: another benchmark on this machine may hold any given port.
const port = await freePort();
const url = `ws://127.0.0.1:${port}/ws`;
const ROOM = 'client-receive';
// About the size of a chat line, as bench/lib/scale-worker.mjs sends.
const FILLER = '|' + 'a chat line of about the length people type in a busy room, '.repeat(2);

if (process.env.BENCH_SKIP_BUILD !== '1') {
  execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', `${root}/tsconfig.sample.json`], {
    stdio: 'inherit',
  });
}
const sdk = await import(`${root}/dist-sample/lib/client/index.js`);
const baseline = process.env.BENCH_BASELINE
  ? await import(`${process.env.BENCH_BASELINE}/dist-sample/lib/client/index.js`)
  : undefined;

/** Subscribers of one kind: `open()` connects and joins them all; `received` counts their chat_messages. */
const bareWs = () => {
  const sockets = [];
  const kind = {
    received: 0,
    async open() {
      for (let i = 0; i < subscribers; i += 250) {
        const batch = await Promise.all(Array.from({ length: Math.min(250, subscribers - i) }, () => open(url)));
        await Promise.all(batch.map((ws) => joinRoom(ws, ROOM)));
        for (const ws of batch) {
          ws.on('error', () => undefined);
          ws.on('message', (raw) => {
            const frame = JSON.parse(raw);
            if (frame.type === 'chat_message') kind.received++;
          });
        }
        sockets.push(...batch);
      }
    },
    async close() {
      for (const ws of sockets) ws.terminate();
    },
  };
  return kind;
};

/** RealtimeClient subscribers with a `chat_message` listener, as bench/lib/scale-worker.mjs uses them. */
const sdkClients =
  ({ RealtimeClient }) =>
  () => {
    const clients = [];
    const kind = {
      received: 0,
      async open() {
        for (let i = 0; i < subscribers; i += 250) {
          const batch = Array.from({ length: Math.min(250, subscribers - i) }, () => {
            const client = new RealtimeClient({ url, WebSocket });
            client.on('chat_message', (data, envelope) => {
              if (envelope.room === ROOM) kind.received++;
            });
            return client;
          });
          await Promise.all(batch.map((client) => client.connect()));
          await Promise.all(batch.map((client) => client.join(ROOM)));
          clients.push(...batch);
        }
      },
      async close() {
        await Promise.all(clients.map((client) => client.disconnect()));
      },
    };
    return kind;
  };

const variants = [
  ...(process.env.BENCH_SDK_ONLY ? [] : [{ name: 'bare ws + JSON.parse', make: bareWs }]),
  { name: 'sdk', make: sdkClients(sdk) },
  ...(baseline && !process.env.BENCH_SDK_ONLY ? [{ name: 'sdk before', make: sdkClients(baseline) }] : []),
];

/** One measurement: connect and join, publish `rate` msg/s for `durationMs`, wait for every delivery. */
async function measure(variant, publisher) {
  const kind = variant.make();
  await kind.open();
  await sleep(500);
  const total = Math.round((rate * durationMs) / 1000);
  const expected = total * subscribers;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const interval = 1000 / rate;
  for (let n = 0; n < total; n++) {
    const wait = Number(start + BigInt(Math.round(n * interval * 1e6)) - process.hrtime.bigint()) / 1e6;
    if (wait > 1) await sleep(wait);
    publisher.send(JSON.stringify({ type: 'chat', data: { room_id: ROOM, content: `${n}${FILLER}` } }));
  }
  const deadline = Date.now() + 10_000;
  while (kind.received < expected && Date.now() < deadline) await sleep(5);
  const used = process.cpuUsage(cpu);
  const received = kind.received;
  await kind.close();
  await sleep(500);
  const per = Math.max(1, received);
  return { usPerDelivery: (used.user + used.system) / per, systemUs: used.system / per, lost: expected - received };
}

/**
 * The in-process part: frames handed straight to the `onmessage` of scripted sockets, each frame
 * to every client in turn as a broadcast reaches them, against JSON.parse of the same frames.
 * 200 000 frames a round.
 */
const MICRO_CLIENTS = Number(process.env.BENCH_MICRO_CLIENTS ?? (subscribers || 2000));
const MICRO_FRAMES = Math.ceil(200_000 / MICRO_CLIENTS);
const EPOCH = 'at3zeNqs';
const microFrames = Array.from({ length: MICRO_FRAMES }, (_, i) =>
  JSON.stringify({
    type: 'chat_message',
    room: ROOM,
    seq: i + 1,
    epoch: EPOCH,
    data: {
      room_id: ROOM,
      user_id: '18ccdea1-93e1-4914-9159-252f0f717b54',
      username: 'anonymous',
      content: `${i}${FILLER}`,
      timestamp: new Date().toISOString(),
    },
    timestamp: new Date().toISOString(),
  }),
);

class ScriptedSocket {
  static all = [];
  readyState = 0;
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  constructor() {
    ScriptedSocket.all.push(this);
    process.nextTick(() => {
      this.readyState = 1;
      this.onopen?.({});
      const data = { client_id: 'c', session_id: `s${ScriptedSocket.all.length}`, node_id: 'n' };
      this.onmessage?.({ data: JSON.stringify({ type: 'connected', data }) });
    });
  }
  send(text) {
    const frame = JSON.parse(text);
    if (frame.type !== 'join_room') return;
    const data = { room_id: frame.data.room_id, client_count: 1, seq: 0, epoch: EPOCH };
    process.nextTick(() => this.onmessage?.({ data: JSON.stringify({ type: 'room_joined', id: frame.id, data }) }));
  }
  close() {
    this.readyState = 3;
    process.nextTick(() => this.onclose?.({ code: 1000, reason: '' }));
  }
}

async function measureMicro(name) {
  let received = 0;
  let deliver;
  if (name === 'JSON.parse') {
    deliver = Array.from({ length: MICRO_CLIENTS }, () => (raw) => {
      const frame = JSON.parse(raw);
      if (frame.type === 'chat_message') received++;
    });
  } else {
    const { RealtimeClient } = name === 'sdk' ? sdk : baseline;
    ScriptedSocket.all = [];
    const clients = Array.from({ length: MICRO_CLIENTS }, () => {
      const client = new RealtimeClient({ url: 'ws://scripted', WebSocket: ScriptedSocket });
      client.on('chat_message', (data, envelope) => {
        if (envelope.room === ROOM) received++;
      });
      return client;
    });
    await Promise.all(clients.map((client) => client.connect()));
    await Promise.all(clients.map((client) => client.join(ROOM)));
    deliver = ScriptedSocket.all.map((socket) => (raw) => socket.onmessage({ data: raw }));
    deliver.close = () => Promise.all(clients.map((client) => client.disconnect()));
  }
  const start = process.hrtime.bigint();
  for (const frame of microFrames) for (let c = 0; c < MICRO_CLIENTS; c++) deliver[c](frame);
  const ns = Number(process.hrtime.bigint() - start) / (MICRO_FRAMES * MICRO_CLIENTS);
  await deliver.close?.();
  if (received !== MICRO_FRAMES * MICRO_CLIENTS) throw new Error(`${name}: ${received} frames delivered`);
  return ns;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const microNames = process.env.BENCH_SDK_ONLY ? ['sdk'] : ['JSON.parse', 'sdk', ...(baseline ? ['sdk before'] : [])];
const micro = new Map(microNames.map((name) => [name, []]));
// A warm-up pass of each (JIT), then the rounds.
for (const name of microNames) await measureMicro(name);
for (let round = 0; round < rounds * 2; round++) {
  for (let i = 0; i < microNames.length; i++) {
    const name = microNames[(i + round) % microNames.length];
    micro.get(name).push(await measureMicro(name));
  }
}
console.log(
  `\nIn-process dispatch (no sockets), ${MICRO_CLIENTS} clients × ${MICRO_FRAMES} frames, ${rounds * 2} rounds:`,
);
const parseMedian = micro.has('JSON.parse') ? median(micro.get('JSON.parse')) : undefined;
console.log('| dispatch | ns per frame (median) | above JSON.parse | rounds |');
console.log('| --- | --- | --- | --- |');
for (const [name, list] of micro) {
  const value = median(list);
  const above = parseMedian === undefined ? '—' : `${(value - parseMedian).toFixed(0)} ns`;
  console.log(`| ${name} | ${value.toFixed(0)} | ${above} | ${list.map((ns) => ns.toFixed(0)).join(', ')} |`);
}
console.log('');

/** The end-to-end figures: one server process, the subscribers in this one. Returns false on a loss. */
async function runEndToEnd() {
  const server = new ServerProcess('nest-realtime (no auth)', `${root}/bench/servers/realtime-noauth.mjs`, port, {
    MAX_CONNECTIONS: String(subscribers * 2 + 100),
  });
  let failed = false;
  try {
    await server.ready();
    const publisher = await open(url);
    await joinRoom(publisher, ROOM);
    const results = new Map(variants.map((v) => [v.name, []]));
    for (let round = 0; round < rounds; round++) {
      // Rotating order: no variant always runs first (cold JIT) or last.
      const order = variants.map((_, i) => variants[(i + round) % variants.length]);
      for (const variant of order) {
        const result = await measure(variant, publisher);
        results.get(variant.name).push(result);
        console.log(
          `round ${round + 1} ${variant.name}: ${result.usPerDelivery.toFixed(2)} µs/delivery ` +
            `(${result.systemUs.toFixed(2)} in the kernel), lost ${result.lost}, ` +
            `load ${loadavg()[0].toFixed(1)}`,
        );
        if (result.lost !== 0) failed = true;
      }
    }
    publisher.terminate();
    const bare = results.get('bare ws + JSON.parse');
    const bareMedian = bare ? median(bare.map((r) => r.usPerDelivery)) : undefined;
    console.log(`\n${subscribers} subscribers in this process, ${rate} msg/s for ${durationMs} ms, ${rounds} rounds`);
    console.log('| client | µs per delivery (median) | × bare ws | rounds |');
    console.log('| --- | --- | --- | --- |');
    for (const [name, list] of results) {
      const value = median(list.map((r) => r.usPerDelivery));
      const ratio = bareMedian ? `${(value / bareMedian).toFixed(2)}×` : '—';
      const each = list.map((r) => r.usPerDelivery.toFixed(2)).join(', ');
      console.log(`| ${name} | ${value.toFixed(2)} | ${ratio} | ${each} |`);
    }
  } finally {
    await server.stop();
  }
  return !failed;
}

if (process.env.BENCH_E2E !== 'off' && !(await runEndToEnd())) {
  console.error('deliveries were lost');
  process.exitCode = 1;
}

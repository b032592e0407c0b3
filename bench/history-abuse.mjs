// History memory under abuse (issue 14, finding 1), on the sample as a user runs it:
// 600 chats of 64 Ki characters into 6 rooms (one client per room, 100 chats each: within the
// default rate limit's burst), plus 300 REST posts (`POST /rooms/:id/messages`) of 64 Ki
// characters into 3 rooms nobody joined; then everyone disconnects and the server is left alone
// for 45 s. Prints the server's RSS before, at its peak (sampled every 100 ms) and 45 s after,
// and the history bytes the server reports (`websocket_history_bytes`, when it has the metric).
//   node bench/history-abuse.mjs                       # builds dist-sample first
//   BENCH_BASELINE=/tmp/before node bench/history-abuse.mjs   # the same against another built checkout
// Environment: BENCH_ABUSE_IDLE_MS (default 45000), BENCH_NO_BUILD=1 (use dist-sample as it is).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createSecretKey } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { JwtService } from '@nestjs/jwt';
import { WebSocket } from 'ws';
import { ServerProcess } from './lib/server-process.mjs';
import { table } from './lib/stats.mjs';

// Node's global fetch (the lint config lists only the older globals).
const { fetch } = globalThis;
const root = fileURLToPath(new URL('..', import.meta.url));
const idleMs = Number(process.env.BENCH_ABUSE_IDLE_MS ?? 45_000);
const secret = 'bench-secret-0123456789abcdef0123456789';
const jwt = new JwtService({ secret: createSecretKey(Buffer.from(secret)) });
const token = (user) =>
  jwt.sign({ user_id: user, username: user, roles: [], exp: Math.floor(Date.now() / 1000) + 3600 });
/** 64 Ki characters (the sample's largest `content`), starting with the message's number. */
const content = (i) => `${i}:`.padEnd(64 * 1024, 'x');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

if (!process.env.BENCH_NO_BUILD) {
  execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', `${root}/tsconfig.sample.json`], {
    stdio: 'inherit',
  });
}

function rssMiB(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line.split(/\s+/)[1]) / 1024;
}

async function historyBytes(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('websocket_history_bytes '));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/** One client in `room` sending `count` chats, resolved once it has all of them back (broadcast). */
async function chatter(port, user, room, count) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token(user)}`);
  let joined;
  const ready = new Promise((resolve) => (joined = resolve));
  let echoed = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    if (frame.type === 'auth_success') socket.send(JSON.stringify({ type: 'join_room', data: { room_id: room } }));
    else if (frame.type === 'room_joined') joined();
    else if (frame.type === 'chat_message' && ++echoed === count) done();
    else if (frame.type === 'error') throw new Error(`${user}: ${frame.data.code} ${frame.data.message}`);
  });
  await ready;
  for (let i = 0; i < count; i++)
    socket.send(JSON.stringify({ type: 'chat', data: { room_id: room, content: content(i) } }));
  await finished;
  return socket;
}

async function run(label, script) {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const server = new ServerProcess(label, script, port, { JWT_SECRET: secret, DEV_LOGIN: '0', LOG_LEVEL: 'warn' });
  try {
    await server.ready();
    const before = rssMiB(server.child.pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(server.child.pid))), 100);
    const started = Date.now();
    const sockets = await Promise.all(Array.from({ length: 6 }, (_, i) => chatter(port, `u${i}`, `abuse-${i}`, 100)));
    const poster = token('poster');
    for (let i = 0; i < 300; i++) {
      const response = await fetch(`http://127.0.0.1:${port}/rooms/empty-${i % 3}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${poster}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: content(i) }),
      });
      if (response.status !== 202) throw new Error(`POST answered ${response.status}`);
    }
    const trafficMs = Date.now() - started;
    const heldWithTraffic = await historyBytes(port);
    for (const socket of sockets) socket.close();
    await sleep(idleMs);
    clearInterval(sampler);
    const after = rssMiB(server.child.pid);
    const heldAfter = await historyBytes(port);
    return { label, before, peak: Math.max(peak, after), after, trafficMs, heldWithTraffic, heldAfter };
  } finally {
    await server.stop();
  }
}

const results = [await run('this checkout', `${root}/dist-sample/sample/main.js`)];
if (process.env.BENCH_BASELINE) {
  results.unshift(
    await run(`baseline (${process.env.BENCH_BASELINE})`, `${process.env.BENCH_BASELINE}/dist-sample/sample/main.js`),
  );
}
const mib = (v) => (v === undefined ? 'n/a' : `${v.toFixed(0)} MiB`);
const bytes = (v) => (v === undefined ? 'n/a' : `${(v / 1024 / 1024).toFixed(1)} MiB`);
table(
  results.map((r) => ({
    server: r.label,
    'RSS before': mib(r.before),
    'RSS peak': mib(r.peak),
    [`RSS ${idleMs / 1000} s after`]: mib(r.after),
    'traffic took': `${(r.trafficMs / 1000).toFixed(1)} s`,
    'history held (traffic / after)': `${bytes(r.heldWithTraffic)} / ${bytes(r.heldAfter)}`,
  })),
);

// Issue 14, finding 9: one connection sends FLOOD_FRAMES (162) `echo` frames of FLOOD_BYTES (just
// under the default 1 MiB maxMessageSize) evenly over FLOOD_MS (5 s) to the sample, with its
// default rate limits, while a second client polls `GET /health` one request at a time. Prints
// the frames echoed and refused, the close code if any, the server's CPU seconds over the flood
// and the /health latency percentiles.
//
//   node bench/large-frame-flood.mjs                      # the sample in dist-sample/ (npm run bench builds it)
//   FLOOD_SERVER=/path/to/dist-sample/sample/main.js node bench/large-frame-flood.mjs
import { createSecretKey } from 'node:crypto';
import { get } from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { JwtService } from '@nestjs/jwt';
import WebSocket from 'ws';
import { ServerProcess } from './lib/server-process.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const frames = Number(process.env.FLOOD_FRAMES ?? 162);
const frameBytes = Number(process.env.FLOOD_BYTES ?? 1024 * 1024 - 64);
const floodMs = Number(process.env.FLOOD_MS ?? 5000);
const script = process.env.FLOOD_SERVER ?? `${root}/dist-sample/sample/main.js`;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const secret = 'flood-secret-0123456789abcdef0123456789';
const token = new JwtService({ secret: createSecretKey(Buffer.from(secret)) }).sign({
  user_id: 'flooder',
  exp: Math.floor(Date.now() / 1000) + 600,
});

const server = new ServerProcess('sample', script, port, { JWT_SECRET: secret, LOG_LEVEL: 'error' });
await server.ready();
const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { authorization: `Bearer ${token}` } });
const counts = { echoed: 0, rateLimited: 0, other: 0 };
let closed;
const greeted = new Promise((resolve) =>
  socket.on('message', (raw) => {
    const frame = JSON.parse(raw.toString());
    if (frame.type === 'auth_success') resolve();
    else if (frame.type === 'echo_response') counts.echoed++;
    else if (frame.data?.code === 'RATE_LIMITED') counts.rateLimited++;
    else if (frame.type !== 'connected') counts.other++;
  }),
);
socket.on('close', (code) => (closed = code));
await greeted;

const latencies = [];
let polling = true;
const poller = (async () => {
  while (polling) {
    const started = performance.now();
    await new Promise((resolve, reject) =>
      get(`http://127.0.0.1:${port}/health`, (response) => response.resume().on('end', resolve)).on('error', reject),
    );
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
})();

const empty = JSON.stringify({ type: 'echo', id: 'f0000', data: '' });
const cpuBefore = server.cpuSeconds();
const startedAt = performance.now();
for (let i = 0; i < frames && closed === undefined; i++) {
  const due = startedAt + (i * floodMs) / frames;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const id = `f${String(i).padStart(4, '0')}`;
  socket.send(JSON.stringify({ type: 'echo', id, data: 'x'.repeat(frameBytes - empty.length) }));
}
const deadline = Date.now() + 60_000;
while (closed === undefined && counts.echoed + counts.rateLimited + counts.other < frames && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const wallSeconds = (performance.now() - startedAt) / 1000;
const cpuSeconds = server.cpuSeconds() - cpuBefore;
const closedBy = closed ?? null;
polling = false;
await poller;
socket.terminate();
await server.stop();

latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(1);
console.log(
  JSON.stringify({
    server: script,
    frames,
    frameBytes,
    ...counts,
    closed: closedBy,
    wallSeconds: Number(wallSeconds.toFixed(2)),
    serverCpuSeconds: Number(cpuSeconds.toFixed(2)),
    health: { requests: latencies.length, p50Ms: at(0.5), p90Ms: at(0.9), maxMs: at(1) },
  }),
);

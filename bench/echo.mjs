import WebSocket from 'ws';
import { percentile } from './lib/stats.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `connect` is the same options for every connection, or a function of the connection's index. */
export function connectOptions(connect, index) {
  return typeof connect === 'function' ? connect(index) : connect;
}

/**
 * Opens a connection and waits for its greeting frames (`connected`, and `auth_success` when
 * authenticated); `perMessageDeflate: true` offers compression (the `compression` scenario).
 */
export function open(url, { headers = {}, greetings = 1, perMessageDeflate = false } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate, headers });
    let seen = 0;
    ws.once('error', reject);
    const onGreeting = () => {
      if (++seen < greetings) return;
      ws.off('message', onGreeting);
      resolve(ws);
    };
    ws.on('message', onGreeting);
  });
}

/**
 * Closed-loop echo: `connections` clients each keep exactly one `echo` in flight. Returns round
 * trips per second, latency percentiles (ms) and the server's CPU time per round trip (µs).
 */
export async function runEcho(server, { connections = 100, warmupMs = 1000, durationMs = 5000, connect = {} } = {}) {
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const sockets = [];
  for (let i = 0; i < connections; i += 50) {
    sockets.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(50, connections - i) }, (_, j) => open(url, connectOptions(connect, i + j))),
      )),
    );
  }
  const payload = { text: 'hello, realtime world', n: 0 };
  let measuring = false;
  let running = true;
  let count = 0;
  const latencies = [];
  for (const [index, ws] of sockets.entries()) {
    let sentAt = 0n;
    let seq = 0;
    const send = () => {
      seq++;
      sentAt = process.hrtime.bigint();
      ws.send(JSON.stringify({ type: 'echo', id: `${index}-${seq}`, data: payload }));
    };
    ws.on('message', () => {
      if (measuring) {
        count++;
        latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
      }
      if (running) send();
    });
    send();
  }
  await sleep(warmupMs);
  const cpuStart = server.cpuSeconds();
  const start = process.hrtime.bigint();
  measuring = true;
  await sleep(durationMs);
  measuring = false;
  const cpuEnd = server.cpuSeconds();
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  running = false;
  await sleep(200);
  for (const ws of sockets) ws.terminate();
  latencies.sort((a, b) => a - b);
  return {
    roundTripsPerSec: count / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuUsPerRoundTrip: ((cpuEnd - cpuStart) * 1e6) / count,
  };
}

// Cluster fan-out (issue 6): two nodes sharing a redis-server of the benchmark's own, one room
// with `subscribers` members split evenly across the nodes, one publisher on the first node.
// Reports deliveries per second, delivery latency, the CPU time of both nodes per delivery and
// losses, for the raw ws + Redis relay and for the sample with REDIS_URL.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { connectOptions, open } from './echo.mjs';
import { joinRoom } from './fanout.mjs';
import { percentile } from './lib/stats.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of the benchmark's own on a free loopback port; stopped by pid. */
export async function startRedis() {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const { Redis } = await import('ioredis');
  for (let i = 0; i < 100; i++) {
    await sleep(50);
    const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    try {
      await probe.connect();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGKILL');
      }),
  };
}

export async function runClusterFanout(
  servers,
  { subscribers = 2000, rate = 50, durationMs = 5000, connect = {} } = {},
) {
  const roomId = 'fanout';
  const sockets = [];
  for (let i = 0; i < subscribers; i += 250) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(250, subscribers - i) }, (_, j) => {
        const server = servers[(i + j) % servers.length];
        return open(`ws://127.0.0.1:${server.port}/ws`, connectOptions(connect, i + j));
      }),
    );
    await Promise.all(batch.map((ws) => joinRoom(ws, roomId)));
    sockets.push(...batch);
  }
  const publisher = await open(`ws://127.0.0.1:${servers[0].port}/ws`, connectOptions(connect, subscribers));
  await joinRoom(publisher, roomId);
  await sleep(300);

  const total = Math.round((rate * durationMs) / 1000);
  const sentAt = new Array(total);
  const latencies = [];
  let received = 0;
  sockets.forEach((ws, index) => {
    ws.on('error', () => undefined);
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw);
      if (frame.type !== 'chat_message') return;
      received++;
      if (index % 10 === 0) latencies.push(Number(process.hrtime.bigint() - sentAt[Number(frame.data.content)]) / 1e6);
    });
  });
  const cpu = () => servers.reduce((sum, s) => sum + s.cpuSeconds(), 0);
  const cpuStart = cpu();
  const start = process.hrtime.bigint();
  for (let n = 0; n < total; n++) {
    const due = start + BigInt(Math.round(((n * 1000) / rate) * 1e6));
    const wait = Number(due - process.hrtime.bigint()) / 1e6;
    if (wait > 1) await sleep(wait);
    sentAt[n] = process.hrtime.bigint();
    publisher.send(JSON.stringify({ type: 'chat', data: { room_id: roomId, content: String(n) } }));
  }
  const expected = total * subscribers;
  const deadline = Date.now() + 10_000;
  while (received < expected && Date.now() < deadline) await sleep(20);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const cpuEnd = cpu();
  for (const ws of [...sockets, publisher]) ws.terminate();
  await sleep(300);
  latencies.sort((a, b) => a - b);
  return {
    deliveriesPerSec: received / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuUsPerDelivery: ((cpuEnd - cpuStart) * 1e6) / Math.max(1, received),
    lost: expected - received,
  };
}

// Cluster fan-out (issue 6): two nodes sharing a redis-server of the benchmark's own, one room
// with `subscribers` members split evenly across the nodes, one publisher on the first node.
// Reports deliveries per second, delivery latency, the CPU time of both nodes per delivery and
// losses, for the raw ws + Redis relay and for the sample with REDIS_URL; with `redis` (from
// `startRedis`), also the redis-server's CPU per published message.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { connectOptions, open } from './echo.mjs';
import WebSocket from 'ws';
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
  let admin;
  /** One command on a connection of the benchmark's own (opened on first use). */
  const call = (command, ...args) => {
    admin ??= new Redis({ port, maxRetriesPerRequest: 0 });
    return admin.call(command, ...args);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    call,
    /** used_cpu_user + used_cpu_sys of the redis-server (µs resolution, unlike /proc's ticks). */
    async cpuSeconds() {
      const info = await call('INFO', 'cpu');
      const field = (name) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? NaN);
      return field('used_cpu_user') + field('used_cpu_sys');
    },
    /** EVAL + EVALSHA calls and their µs since the last CONFIG RESETSTAT (INFO commandstats). */
    async scriptStats() {
      const info = await call('INFO', 'commandstats');
      let calls = 0;
      let usec = 0;
      for (const [, c, u] of info.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+),usec=(\d+)/gm)) {
        calls += Number(c);
        usec += Number(u);
      }
      return { calls, usec };
    },
    stop: () =>
      new Promise((resolve) => {
        admin?.disconnect();
        child.once('exit', resolve);
        child.kill('SIGKILL');
      }),
  };
}

/**
 * Socket.IO's wire format (Engine.IO 4 over a plain WebSocket): `40` connects to the default
 * namespace, events are `42["name",data]`, and the server's ping `2` is answered with `3`.
 */
export const socketIoClient = {
  url: (port) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
  open(url, { perMessageDeflate = false, headers = {} } = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate, headers });
      ws.once('error', reject);
      const onMessage = (raw) => {
        const text = raw.toString();
        if (text.startsWith('0')) ws.send('40');
        else if (text.startsWith('42["connected"')) {
          ws.off('message', onMessage);
          ws.on('message', (data) => data.toString() === '2' && ws.send('3'));
          resolve(ws);
        }
      };
      ws.on('message', onMessage);
    });
  },
  send: (ws, type, data) => ws.send(`42${JSON.stringify([type, data])}`),
  parse(raw) {
    const text = raw.toString();
    if (!text.startsWith('42')) return undefined;
    const [type, data] = JSON.parse(text.slice(2));
    return { type, data };
  },
};

/** This project's wire format. */
export const jsonClient = {
  url: (port) => `ws://127.0.0.1:${port}/ws`,
  open: (url, connect) => open(url, connect),
  send: (ws, type, data) => ws.send(JSON.stringify({ type, id: 'j', data })),
  parse: (raw) => JSON.parse(raw),
};

function joinWith(client, ws, roomId) {
  return new Promise((resolve) => {
    const onMessage = (raw) => {
      if (client.parse(raw)?.type === 'room_joined') {
        ws.off('message', onMessage);
        resolve();
      }
    };
    ws.on('message', onMessage);
    client.send(ws, 'join_room', { room_id: roomId });
  });
}

export async function runClusterFanout(
  servers,
  { subscribers = 2000, rate = 50, durationMs = 5000, connect = {}, client = jsonClient, redis } = {},
) {
  const roomId = 'fanout';
  const sockets = [];
  for (let i = 0; i < subscribers; i += 250) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(250, subscribers - i) }, (_, j) => {
        const server = servers[(i + j) % servers.length];
        return client.open(client.url(server.port), connectOptions(connect, i + j));
      }),
    );
    await Promise.all(batch.map((ws) => joinWith(client, ws, roomId)));
    sockets.push(...batch);
  }
  const publisher = await client.open(client.url(servers[0].port), connectOptions(connect, subscribers));
  await joinWith(client, publisher, roomId);
  await sleep(300);

  const total = Math.round((rate * durationMs) / 1000);
  const sentAt = new Array(total);
  const latencies = [];
  let received = 0;
  sockets.forEach((ws, index) => {
    ws.on('error', () => undefined);
    ws.on('message', (raw) => {
      const frame = client.parse(raw);
      if (frame?.type !== 'chat_message') return;
      received++;
      if (index % 10 === 0) latencies.push(Number(process.hrtime.bigint() - sentAt[Number(frame.data.content)]) / 1e6);
    });
  });
  const cpu = () => servers.reduce((sum, s) => sum + s.cpuSeconds(), 0);
  // Command statistics from here on: the scripts' own time, apart from Redis's background work.
  if (redis) await redis.call('CONFIG', 'RESETSTAT');
  const redisCpuStart = redis ? await redis.cpuSeconds() : NaN;
  const cpuStart = cpu();
  const start = process.hrtime.bigint();
  for (let n = 0; n < total; n++) {
    const due = start + BigInt(Math.round(((n * 1000) / rate) * 1e6));
    const wait = Number(due - process.hrtime.bigint()) / 1e6;
    if (wait > 1) await sleep(wait);
    sentAt[n] = process.hrtime.bigint();
    client.send(publisher, 'chat', { room_id: roomId, content: String(n) });
  }
  const expected = total * subscribers;
  const deadline = Date.now() + 10_000;
  while (received < expected && Date.now() < deadline) await sleep(20);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const cpuEnd = cpu();
  const redisCpuEnd = redis ? await redis.cpuSeconds() : NaN;
  const scripts = redis ? await redis.scriptStats() : { calls: 0, usec: NaN };
  for (const ws of [...sockets, publisher]) ws.terminate();
  await sleep(300);
  latencies.sort((a, b) => a - b);
  return {
    deliveriesPerSec: received / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuUsPerDelivery: ((cpuEnd - cpuStart) * 1e6) / Math.max(1, received),
    /** Redis CPU per published message (NaN without `redis`): where the cluster's history goes. */
    redisCpuUsPerMessage: ((redisCpuEnd - redisCpuStart) * 1e6) / total,
    /** Time per EVAL/EVALSHA in the window (INFO commandstats): the publish script, for the sample. */
    redisScriptUsPerCall: scripts.usec / Math.max(1, scripts.calls),
    lost: expected - received,
  };
}

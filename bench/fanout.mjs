import { connectOptions, open } from './echo.mjs';
import { percentile } from './lib/stats.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Joins a room and resolves on `room_joined`. */
export function joinRoom(ws, roomId) {
  return new Promise((resolve) => {
    const onMessage = (raw) => {
      if (raw.toString().includes('"room_joined"')) {
        ws.off('message', onMessage);
        resolve();
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ type: 'join_room', id: 'j', data: { room_id: roomId } }));
  });
}

/**
 * One room, `subscribers` members and one publisher sending `rate` chat messages per second
 * (open loop) for `durationMs`. Returns deliveries per second to the subscribers, delivery
 * latency percentiles (ms, publisher send → subscriber receive), the server's CPU time per
 * delivery (µs) and the number of deliveries lost.
 *
 * With `burst` above 1 the publisher sends `burst` messages at once (in one TCP write, so the
 * server reads them in one turn of its event loop and broadcasts them back to back) every
 * `burst / rate` seconds: the same average rate, as a busy room or a publisher catching up
 * sends it.
 */
export async function runFanout(
  server,
  { subscribers = 1000, rate = 100, durationMs = 5000, connect = {}, burst = 1 } = {},
) {
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const roomId = 'fanout';
  const sockets = [];
  for (let i = 0; i < subscribers; i += 250) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(250, subscribers - i) }, (_, j) => open(url, connectOptions(connect, i + j))),
    );
    await Promise.all(batch.map((ws) => joinRoom(ws, roomId)));
    sockets.push(...batch);
  }
  const publisher = await open(url, connectOptions(connect, subscribers));
  await joinRoom(publisher, roomId);

  const total = Math.round((rate * durationMs) / 1000);
  const sentAt = new Array(total);
  const latencies = [];
  let received = 0;
  const perSocket = new Uint32Array(subscribers);
  sockets.forEach((ws, index) => {
    ws.on('error', () => undefined);
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw);
      if (frame.type !== 'chat_message') return;
      const n = Number(frame.data.content);
      received++;
      perSocket[index]++;
      if (index % 10 === 0) latencies.push(Number(process.hrtime.bigint() - sentAt[n]) / 1e6);
    });
  });

  const cpuStart = server.cpuSeconds();
  const clientCpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const interval = 1000 / rate;
  // The publisher's TCP socket, corked around a burst so that the burst leaves in one write.
  const raw = publisher._socket;
  for (let n = 0; n < total; n += burst) {
    const due = start + BigInt(Math.round(n * interval * 1e6));
    const wait = Number(due - process.hrtime.bigint()) / 1e6;
    if (wait > 1) await sleep(wait);
    const now = process.hrtime.bigint();
    const end = Math.min(total, n + burst);
    if (burst > 1) raw.cork();
    for (let m = n; m < end; m++) {
      sentAt[m] = now;
      publisher.send(JSON.stringify({ type: 'chat', data: { room_id: roomId, content: String(m) } }));
    }
    if (burst > 1) raw.uncork();
  }
  const expected = total * subscribers;
  const deadline = Date.now() + 10_000;
  while (received < expected && Date.now() < deadline) await sleep(20);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const cpuEnd = server.cpuSeconds();
  const clientCpu = process.cpuUsage(clientCpuStart);
  const closedAtEnd = sockets.filter((ws) => ws.readyState !== 1).length;
  for (const ws of [...sockets, publisher]) ws.terminate();
  await sleep(300);
  latencies.sort((a, b) => a - b);
  return {
    subscribers,
    /** CPU time of this process (the load generator) per delivery, µs. */
    clientCpuUsPerDelivery: (clientCpu.user + clientCpu.system) / Math.max(1, received),
    deliveriesPerSec: received / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuUsPerDelivery: ((cpuEnd - cpuStart) * 1e6) / Math.max(1, received),
    lost: expected - received,
    /** Subscribers that got fewer messages than were sent (a loss is always worth a look). */
    shortSubscribers: perSocket.filter((count) => count < total).length,
    closedSubscribers: closedAtEnd,
  };
}

import { connectOptions } from './echo.mjs';
import { percentile } from './lib/stats.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Common chat words: text made of them compresses about as real chat does (not as a repeated string). */
const WORDS = (
  'the be to of and a in that have I it for not on with he as you do at this but his by from they we say her ' +
  'she or an will my one all would there their what so up out if about who get which go me when make can like ' +
  'time no just him know take people into year your good some could them see other than then now look only ' +
  'come its over think also back after use two how our work first well way even new want because any these ' +
  'give day most us deploy build release ticket review merge branch test meeting lunch coffee tomorrow friday ' +
  'ok thanks sure sounds great link doc dashboard alert error fixed done'
).split(' ');

/** A deterministic pseudo-random generator (the same messages on every server). */
function generator(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** Chat message `n`: its number, then about `bytes` of sentences. */
export function chatText(n, bytes = 2048) {
  const random = generator(n + 1);
  let text = `${n} `;
  while (text.length < bytes) {
    const length = 4 + Math.floor(random() * 12);
    const words = Array.from({ length }, () => WORDS[Math.floor(random() * WORDS.length)]);
    text += `${words.join(' ')}. `;
  }
  return text.slice(0, bytes);
}

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

/** Bytes read so far by the TCP socket under a `ws` client. */
const bytesRead = (ws) => ws._socket?.bytesRead ?? 0;

/**
 * Compress-once broadcasts (issue 15 item 2): one room, `subscribers` members that offer
 * `permessage-deflate`, one publisher sending `rate` chat messages of about 2 KB per second (open
 * loop) for `durationMs`. Returns the server's CPU per delivery, the bytes the subscribers read
 * per delivery (what crossed the wire, frame headers included), delivery latency, losses, and
 * the server's memory per connection (RSS and V8 heap after forced GCs, against the server before
 * any connection) with the subscribers still connected after the traffic: where per-socket
 * compression keeps a zlib stream per connection.
 */
export async function runCompression(
  server,
  { subscribers = 1000, rate = 20, durationMs = 5000, bytes = 2048, connect = {}, client } = {},
) {
  const roomId = 'compression';
  const before = await server.memory();
  const url = client.url(server.port);
  const sockets = [];
  for (let i = 0; i < subscribers; i += 250) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(250, subscribers - i) }, (_, j) =>
        client.open(url, connectOptions(connect, i + j)),
      ),
    );
    await Promise.all(batch.map((ws) => joinWith(client, ws, roomId)));
    sockets.push(...batch);
  }
  const publisher = await client.open(url, connectOptions(connect, subscribers));
  await joinWith(client, publisher, roomId);
  await sleep(300);

  const total = Math.round((rate * durationMs) / 1000);
  const texts = Array.from({ length: total }, (_, n) => chatText(n, bytes));
  const sentAt = new Array(total);
  const latencies = [];
  let received = 0;
  let corrupt = 0;
  sockets.forEach((ws, index) => {
    ws.on('error', () => undefined);
    ws.on('message', (raw) => {
      const frame = client.parse(raw);
      if (frame?.type !== 'chat_message') return;
      const n = Number.parseInt(frame.data.content, 10);
      if (frame.data.content !== texts[n]) corrupt++;
      received++;
      if (index % 10 === 0) latencies.push(Number(process.hrtime.bigint() - sentAt[n]) / 1e6);
    });
  });

  const readStart = sockets.reduce((sum, ws) => sum + bytesRead(ws), 0);
  const cpuStart = server.cpuSeconds();
  const generatorStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let n = 0; n < total; n++) {
    const due = start + BigInt(Math.round(((n * 1000) / rate) * 1e6));
    const wait = Number(due - process.hrtime.bigint()) / 1e6;
    if (wait > 1) await sleep(wait);
    sentAt[n] = process.hrtime.bigint();
    client.send(publisher, 'chat', { room_id: roomId, content: texts[n] });
  }
  const expected = total * subscribers;
  const deadline = Date.now() + 20_000;
  while (received < expected && Date.now() < deadline) await sleep(20);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const cpuEnd = server.cpuSeconds();
  const generator = process.cpuUsage(generatorStart);
  const read = sockets.reduce((sum, ws) => sum + bytesRead(ws), 0) - readStart;
  const compressed = sockets.filter((ws) => ws.extensions.includes('permessage-deflate')).length;
  const after = await server.memory();
  for (const ws of [...sockets, publisher]) ws.terminate();
  await sleep(300);
  latencies.sort((a, b) => a - b);
  return {
    deliveriesPerSec: received / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    cpuUsPerDelivery: ((cpuEnd - cpuStart) * 1e6) / Math.max(1, received),
    /**
     * The load generator's CPU per delivery (this process: the subscribers inflate and parse every
     * message). Above about 50 µs it is the bottleneck, and latency says more about it than about the server.
     */
    generatorCpuUsPerDelivery: (generator.user + generator.system) / Math.max(1, received),
    /** Bytes the subscribers read per delivery: the compressed frame, or the plain one. */
    wireBytesPerDelivery: read / Math.max(1, received),
    /** Subscribers that negotiated permessage-deflate. */
    compressedSubscribers: compressed,
    rssPerConnection: (after.rss - before.rss) / (subscribers + 1),
    heapPerConnection: (after.heapUsed - before.heapUsed) / (subscribers + 1),
    lost: expected - received,
    corrupt,
  };
}

import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { connectOptions, open } from './echo.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens a Socket.IO connection (Engine.IO 4 over WebSocket) and waits for `auth_success`. */
function openSocketIo(url, { headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers });
    ws.once('error', reject);
    const onMessage = (raw) => {
      const text = raw.toString();
      if (text.startsWith('0')) ws.send('40');
      else if (text.startsWith('44')) reject(new Error(`refused: ${text}`));
      else if (text.startsWith('42["auth_success"')) {
        ws.off('message', onMessage);
        ws.on('message', (data) => data.toString() === '2' && ws.send('3'));
        resolve(ws);
      }
    };
    ws.on('message', onMessage);
  });
}

/** How the connect scenario reaches each kind of server. */
export const connectClients = {
  json: { url: (port) => `ws://127.0.0.1:${port}/ws`, open },
  socketio: { url: (port) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, open: openSocketIo },
};

/**
 * Opens `connections` connections as fast as the client can (or `rate` per second), `concurrency` handshakes in flight,
 * each done when its greetings arrived (`connected`, plus `auth_success` when authenticated), and
 * keeps them open. Returns connects per second and the server's CPU time per connect (µs) over
 * that phase, after a warm-up round of `warmup` connections that are opened and closed first.
 */
export async function runConnect(
  server,
  { connections = 5000, concurrency = 100, warmup = 1000, rate = 0, connect = {}, client = connectClients.json } = {},
) {
  const url = client.url(server.port);
  // The options (tokens) are made before the clock starts: signing is the client's work.
  const options = Array.from({ length: warmup + connections }, (_, i) => connectOptions(connect, i));
  const openAll = async (from, count, perSec = 0) => {
    const sockets = new Array(count);
    const start = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        // Paced (open loop): handshake i starts at i / perSec s, so every server sees the same arrivals.
        const wait = perSec > 0 ? start + (i * 1000) / perSec - performance.now() : 0;
        if (wait > 0) await sleep(wait);
        sockets[i] = await client.open(url, options[from + i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return sockets;
  };
  // Warm-up: the server's JIT, pools and maps, then back to no connections.
  for (const ws of await openAll(0, warmup)) ws.terminate();
  await sleep(1000);
  const cpuStart = server.cpuSeconds();
  const start = process.hrtime.bigint();
  const sockets = await openAll(warmup, connections, rate);
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const cpuEnd = server.cpuSeconds();
  for (const ws of sockets) ws.terminate();
  await sleep(1000);
  return {
    connections,
    connectsPerSec: connections / elapsed,
    cpuUsPerConnect: ((cpuEnd - cpuStart) * 1e6) / connections,
  };
}

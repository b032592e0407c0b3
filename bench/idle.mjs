import WebSocket from 'ws';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function open(url, headers) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers });
    ws.once('error', reject);
    ws.once('message', () => resolve(ws));
  });
}

/**
 * Opens `connections` idle connections and returns the server's memory growth per connection
 * (RSS and V8 heap, bytes), each measured after forced GCs.
 */
export async function runIdle(server, { connections = 10_000, batch = 250, headers = {} } = {}) {
  const url = `ws://127.0.0.1:${server.port}/ws`;
  // Warm the server's code paths and pools with one round of connections first.
  const warm = await Promise.all(Array.from({ length: 50 }, () => open(url, headers)));
  for (const ws of warm) ws.terminate();
  await sleep(500);
  const before = await server.memory();
  const sockets = [];
  for (let i = 0; i < connections; i += batch) {
    sockets.push(
      ...(await Promise.all(Array.from({ length: Math.min(batch, connections - i) }, () => open(url, headers)))),
    );
  }
  await sleep(1000);
  const after = await server.memory();
  for (const ws of sockets) ws.terminate();
  await sleep(500);
  return {
    connections,
    rssPerConnection: (after.rss - before.rss) / connections,
    heapPerConnection: (after.heapUsed - before.heapUsed) / connections,
  };
}

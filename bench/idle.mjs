import { connectOptions, open } from './echo.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Opens `connections` idle connections and returns the server's memory growth per connection
 * (RSS and V8 heap, bytes), each measured after forced GCs.
 */
export async function runIdle(server, { connections = 10_000, batch = 250, connect = {} } = {}) {
  const url = `ws://127.0.0.1:${server.port}/ws`;
  // Warm the server's code paths and pools with one round of connections first.
  const warm = await Promise.all(
    Array.from({ length: 50 }, (_, j) => open(url, connectOptions(connect, connections + j))),
  );
  for (const ws of warm) ws.terminate();
  await sleep(500);
  const before = await server.memory();
  const sockets = [];
  for (let i = 0; i < connections; i += batch) {
    sockets.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(batch, connections - i) }, (_, j) => open(url, connectOptions(connect, i + j))),
      )),
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

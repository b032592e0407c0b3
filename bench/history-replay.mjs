// One `resume` from seq 0 of a big Redis history (issue 14, finding 2): a room holding ~44 MiB
// (1000 entries of 44 Ki characters, the room's `historyMaxBytes` raised to allow it), read back
// through the real adapter the way a replay reads it, once whole (one script call, as before the
// change; `RoomFrameOrder`'s read-back after an outage still reads this way) and once in
// `history.replayChunkBytes` chunks (256 KiB, the default). Prints the longest time one Redis
// call took (Redis is single-threaded: every node waits that long), the Redis CPU per read,
// and this process' RSS growth while reading.
// Each read runs in a process of its own (RSS is per process, and a heap grown by one read
// would hide the other's growth).
//   node bench/history-replay.mjs        # after a build of dist-sample (npm run bench -- echo, or tsc -p tsconfig.sample.json)
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { startRedis } from './cluster-fanout.mjs';
import { table } from './lib/stats.mjs';
import { detachedAdapter } from './lib/detached-adapter.mjs';
import { roomFrameParts } from '../dist-sample/lib/cluster/cluster.adapter.js';

const ENTRIES = 1000;
const CHUNK = 256 * 1024;
const TTL = 3_600_000;
const room = 'big-history';
const content = (i) => `${i}:`.padEnd(44 * 1024, 'x');
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

const mode = process.argv[2];
if (mode === undefined) {
  const self = fileURLToPath(import.meta.url);
  const rows = ['whole', 'chunks'].map((m) =>
    JSON.parse(
      execFileSync(process.execPath, ['--expose-gc', self, m], { stdio: ['ignore', 'pipe', 'inherit'] })
        .toString()
        .trim()
        .split('\n')
        .pop(),
    ),
  );
  table(rows);
  process.exit(0);
}

const redis = await startRedis();
const adapter = detachedAdapter(redis.url);
const rows = [];
try {
  await adapter.start();
  for (let i = 1; i <= ENTRIES; i += 10) {
    await Promise.all(
      Array.from({ length: 10 }, (_, j) =>
        adapter.publishRoom(
          room,
          roomFrameParts(room, 'chat_message', { content: content(i + j) }, new Date().toISOString()),
          undefined,
          {
            size: ENTRIES,
            ttl: TTL,
            maxBytes: 64 * 1024 * 1024,
          },
        ),
      ),
    );
  }

  /** Reads the whole history after seq 0, whole or in chunks; returns the figures. */
  const read = async (label, chunked) => {
    globalThis.gc?.();
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const cpuBefore = await redis.cpuSeconds();
    let calls = 0;
    let longest = 0;
    let entries = 0;
    let bytes = 0;
    let seen = 0;
    const started = performance.now();
    for (;;) {
      const t0 = performance.now();
      const history = await adapter.roomHistory(
        room,
        seen,
        TTL,
        chunked ? { maxBytes: CHUNK, toSeq: ENTRIES } : undefined,
      );
      longest = Math.max(longest, performance.now() - t0);
      calls++;
      for (const entry of history.entries) bytes += entry.frame.length;
      entries += history.entries.length;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (history.entries.length === 0 || !chunked) break;
      seen = history.entries.at(-1).seq;
      if (seen >= ENTRIES) break;
    }
    const total = performance.now() - started;
    const cpu = (await redis.cpuSeconds()) - cpuBefore;
    rows.push({
      read: label,
      'Redis calls': calls,
      entries,
      'bytes read': mib(bytes),
      'longest call': `${longest.toFixed(0)} ms`,
      'all calls': `${total.toFixed(0)} ms`,
      'Redis CPU': `${(cpu * 1000).toFixed(0)} ms`,
      'RSS growth (peak)': mib(peakRss - rssBefore),
    });
  };
  if (mode === 'whole') await read('whole (one call)', false);
  else await read(`chunks of ${CHUNK / 1024} KiB`, true);
  console.log(JSON.stringify(rows[0]));
} finally {
  await adapter.stop();
  await redis.stop?.();
}

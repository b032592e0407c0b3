// The room history's own cost, without WebSockets, where the end-to-end fan-out benchmark cannot
// resolve it (its round-to-round spread is ±5–10% on a 2-core machine):
// - one node: `RoomSequencer.next` + `record` (the ring push done in `broadcastLocally`) per
//   broadcast, history on (100) against off (0), in this process;
// - cluster: the redis-server's CPU per `publishRoom` (the PUBLISH_ROOM script: INCR, GET,
//   XADD ... MAXLEN ~ N, PEXPIREs, PUBLISH), history on against off, through the real adapter
//   subscribed to the room (so the PUBLISH reaches one subscriber, as with one node), on a
//   redis-server of the benchmark's own; and what the history stream holds afterwards.
//   node bench/history-cost.mjs          # after `npm run bench -- fanout` (or cluster) built dist-sample
// Environment: BENCH_HISTORY_REPS (alternations of on / off, default 5).
import { performance } from 'node:perf_hooks';
import { startRedis } from './cluster-fanout.mjs';
import { fmt, table } from './lib/stats.mjs';
import { RoomSequencer } from '../dist-sample/lib/history/room-sequencer.js';
import { DEFAULT_ROOM_SETTINGS } from '../dist-sample/lib/options/room-settings.js';
import { prepareFrame } from '../dist-sample/lib/broadcast/outbound-frame.js';
import { detachedAdapter } from './lib/detached-adapter.mjs';
import { roomFrameParts } from '../dist-sample/lib/cluster/cluster.adapter.js';

const reps = Number(process.env.BENCH_HISTORY_REPS ?? 5);
const medianOf = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const on = { ...DEFAULT_ROOM_SETTINGS };
const off = { ...DEFAULT_ROOM_SETTINGS, historySize: 0 };
const data = (n) => ({
  room_id: 'fanout',
  user_id: 'user-1000',
  username: 'user 1000',
  content: String(n),
  timestamp: new Date().toISOString(),
});

/** ns per broadcast of sequencing and recording, with `settings`. */
function nodeCost(settings, broadcasts = 2_000_000) {
  const sequencer = new RoomSequencer(600_000);
  const frame = prepareFrame(
    Buffer.from(JSON.stringify({ type: 'chat_message', room: 'fanout', seq: 1, epoch: 'e', data: data(1) })),
  );
  const start = performance.now();
  for (let i = 0; i < broadcasts; i++) {
    const sequence = sequencer.next('fanout', 1_000_000 + (i >> 10));
    sequencer.record(sequence, frame, settings);
  }
  return ((performance.now() - start) * 1e6) / broadcasts;
}

const node = { on: [], off: [] };
nodeCost(on, 200_000); // warm-up
nodeCost(off, 200_000);
for (let r = 0; r < reps; r++) {
  node.on.push(nodeCost(on));
  node.off.push(nodeCost(off));
}

const redis = await startRedis();
const adapter = detachedAdapter(redis.url);
const cluster = { on: [], off: [], memory: [] };
const published = 5000;
try {
  await adapter.start();
  await adapter.watchRoom('fanout');
  /** Redis CPU µs per publishRoom with history `size`, `published` publishes 8 at a time. */
  const redisCost = async (size) => {
    const before = await redis.cpuSeconds();
    for (let n = 0; n < published; n += 8) {
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          adapter.publishRoom(
            'fanout',
            roomFrameParts('fanout', 'chat_message', data(n + i), new Date().toISOString()),
            undefined,
            {
              size,
              ttl: 300_000,
              maxBytes: DEFAULT_ROOM_SETTINGS.historyMaxBytes,
            },
          ),
        ),
      );
    }
    return (((await redis.cpuSeconds()) - before) * 1e6) / published;
  };
  await redisCost(100); // warm-up
  for (let r = 0; r < reps; r++) {
    cluster.on.push(await redisCost(100));
    cluster.memory.push({
      entries: Number(await redis.call('XLEN', 'nest-realtime:history:{fanout}')),
      bytes: Number(await redis.call('MEMORY', 'USAGE', 'nest-realtime:history:{fanout}')),
    });
    cluster.off.push(await redisCost(0));
  }
} finally {
  await adapter.stop();
  await redis.stop();
}

console.log(`\nRoom history, direct cost per broadcast (median of ${reps} alternations)`);
table([
  {
    where: 'one node: RoomSequencer.next + record, ns',
    'history on (100)': fmt(medianOf(node.on), 1),
    'history off': fmt(medianOf(node.off), 1),
    'on − off': fmt(medianOf(node.on) - medianOf(node.off), 1),
  },
  {
    where: 'cluster: redis-server CPU per publishRoom, µs',
    'history on (100)': fmt(medianOf(cluster.on), 2),
    'history off': fmt(medianOf(cluster.off), 2),
    'on − off': fmt(medianOf(cluster.on) - medianOf(cluster.off), 2),
  },
]);
const memory = cluster.memory.at(-1);
console.log(
  `history stream after ${published * (reps + 1)} publishes with historySize 100: ${memory.entries} entries, ` +
    `${memory.bytes} B (MEMORY USAGE; every round: ${cluster.memory.map((m) => `${m.entries}/${m.bytes} B`).join(', ')})`,
);

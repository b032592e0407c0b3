import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { ClusterHistory, HistoryChunk } from '../../lib/cluster/cluster.adapter.js';
import type { RedisClusterAdapter } from '../../lib/redis/index.js';
import type { RoomSettings } from '../../lib/options/room-settings.js';
import { memberOf, say } from '../support/chat.js';
import { REDIS_BACKENDS, type RedisBackend } from '../support/redis-backends.js';
import { range, seqsOf, trackedResumer } from '../support/resuming-client.js';
import { useCleanup } from '../support/cleanup.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';

const CHUNK = 1024;
const ROOM_SETTINGS = (roomId: string): RoomSettings =>
  roomId.startsWith('capped-') ? { historyMaxBytes: 8 * 1024 } : {};
const big = (label: string, kib: number) => `${label}:${'x'.repeat(kib * 1024)}`;

describe.each(REDIS_BACKENDS)('history bounds across a cluster on %s (e2e)', (_backendName, backendFactory) => {
  let backend: RedisBackend;
  let a: TestApp;
  let b: TestApp;
  let adapterB: RedisClusterAdapter;
  // Every client is registered as it is made: a failed assertion leaves nothing connected.
  const cleanup = useCleanup();
  const prefix = `hb${process.pid}`;
  /** Every history read node b made, with what it asked and got. */
  const reads: { afterSeq: number; chunk: HistoryChunk | undefined; reply: ClusterHistory | undefined }[] = [];

  const node = (nodeId: string, adapter: RedisClusterAdapter) =>
    createTestApp({
      nodeId,
      auth: { secret: TEST_SECRET },
      rateLimit: false,
      cluster: adapter,
      shutdownTimeout: 2000,
      rooms: ROOM_SETTINGS,
      history: { replayChunkBytes: CHUNK },
    });
  const tokenOf = (userId: string) => hsToken({ user_id: userId });

  const resumer = (app: TestApp, userId: string) => trackedResumer(app.url, tokenOf(userId), cleanup);

  const talker = async (app: TestApp, userId: string, roomId: string) =>
    cleanup.track(await memberOf(app.url, tokenOf(userId), roomId));

  beforeAll(async () => {
    backend = await backendFactory();
    a = await node('node-a', backend.adapter(prefix));
    adapterB = backend.adapter(prefix);
    const read = adapterB.roomHistory.bind(adapterB);
    adapterB.roomHistory = async (roomId, afterSeq, ttl, chunk) => {
      const reply = await read(roomId, afterSeq, ttl, chunk);
      reads.push({ afterSeq, chunk, reply });
      return reply;
    };
    b = await node('node-b', adapterB);
  }, 30_000);
  afterEach(async () => {
    reads.length = 0;
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await backend.stop();
  });

  it('replays a history many chunks long in chunks of at most replayChunkBytes, in order, then live', async () => {
    const ann = await resumer(a, 'ann');
    await ann.join('r-long');
    const bob = await talker(a, 'bob', 'r-long');
    await ann.client.close();
    const missed = range(1, 30).map((i) => `m${i}:${'y'.repeat(600)}`);
    await say(bob, 'r-long', missed);
    await ann.reconnect(b.url);
    await until(() => ann.roomFrames('r-long').length === 30);
    await say(bob, 'r-long', ['live']);
    await until(() => ann.roomFrames('r-long').length === 31);
    expect(seqsOf(ann.roomFrames('r-long'))).toEqual(range(1, 31));
    expect(ann.roomFrames('r-long').map((f) => f.data.content)).toEqual([...missed, 'live']);
    expect(ann.failures).toEqual([]);

    const replay = reads.filter((r) => r.chunk !== undefined);
    // 30 frames of ~700 bytes in chunks of 1 KiB: two frames a read, never the whole stream at once.
    expect(replay.length).toBeGreaterThanOrEqual(15);
    for (const { chunk, reply } of replay) {
      expect(chunk!.maxBytes).toBe(CHUNK);
      const bytes = reply!.entries.reduce((sum, e) => sum + Buffer.byteLength(e.frame), 0);
      const largest = Math.max(0, ...reply!.entries.map((e) => Buffer.byteLength(e.frame)));
      // A chunk stops at the first entry that reaches the cap.
      expect(bytes - largest).toBeLessThan(CHUNK);
    }
    // Each read starts where the previous one ended, and none goes past the position of the first.
    expect(replay.map((r) => r.afterSeq)).toEqual(
      replay.map((_, i) => (i === 0 ? 0 : replay[i - 1].reply!.entries.at(-1)!.seq)),
    );
    expect(replay.slice(1).every((r) => r.chunk!.toSeq === 30)).toBe(true);
  });

  it("caps a room's history in Redis by bytes (historyMaxBytes): resume_failed past it on the other node, a replay within it", async () => {
    const ann = await resumer(a, 'ann');
    await ann.join('capped-x');
    const bob = await talker(a, 'bob', 'capped-x');
    await ann.client.close();
    await say(bob, 'capped-x', [big('c1', 3), big('c2', 3), big('c3', 3)]);
    // Redis holds exactly what fits in 8 KiB, and counts it exactly.
    const raw = backend.client();
    try {
      const stream = (await raw.xrange(`${prefix}:history:{capped-x}`, '-', '+')) as [string, string[]][];
      expect(stream.map(([id]) => id)).toEqual(['2-0', '3-0']);
      const held = stream.reduce((sum, [, fields]) => sum + Buffer.byteLength(fields[3]), 0);
      expect(Number(await raw.get(`${prefix}:history-bytes:{capped-x}`))).toBe(held);
      expect(held).toBeLessThanOrEqual(8 * 1024);
    } finally {
      raw.disconnect();
    }
    await ann.reconnect(b.url);
    expect((await ann.client.next('resume_failed')).data).toMatchObject({
      room_id: 'capped-x',
      reason: 'history_expired',
      seq: 3,
    });
    expect(ann.roomFrames('capped-x')).toEqual([]);
    await ann.client.close();
    await say(bob, 'capped-x', [big('c4', 3), big('c5', 3)]);
    await ann.reconnect(b.url);
    await until(() => ann.roomFrames('capped-x').length === 2);
    expect(seqsOf(ann.roomFrames('capped-x'))).toEqual([4, 5]);
  });
});

import { describe, expect, it } from '@jest/globals';
import type { OutboundFrame } from '../../../lib/broadcast/outbound-frame.js';
import type { ClusterAdapter, ClusterHistory, HistoryChunk } from '../../../lib/cluster/cluster.adapter.js';
import { ReplayLimiter } from '../../../lib/history/replay-limiter.js';
import { REPLAY_ABANDONED, type ReplaySink, RoomReplay } from '../../../lib/history/room-replay.js';
import { RoomSequencer } from '../../../lib/history/room-sequencer.js';
import { DEFAULT_ROOM_SETTINGS } from '../../../lib/options/room-settings.js';

const EPOCH = 'e1';
const frameText = (seq: number) => `{"seq":${seq},"data":"${'z'.repeat(90)}"}`;

/** A cluster whose history is entries 1..seq of ~100 bytes; `evictBefore` drops older ones from the second read on. */
class FakeCluster {
  readonly status = 'up' as const;
  readonly reads: { afterSeq: number; chunk?: HistoryChunk }[] = [];
  evictBefore = 0;
  constructor(public seq: number) {}
  /** The cluster numbers the rooms: no position is known without reading it. */
  localPosition(): undefined {
    return undefined;
  }
  async roomHistory(_roomId: string, afterSeq: number, _ttl: number, chunk?: HistoryChunk): Promise<ClusterHistory> {
    this.reads.push({ afterSeq, chunk });
    const to = Math.min(chunk?.toSeq ?? this.seq, this.seq);
    const entries: ClusterHistory['entries'] = [];
    let bytes = 0;
    for (let s = afterSeq + 1; s <= to && bytes < (chunk?.maxBytes ?? Infinity); s++) {
      if (this.reads.length > 1 && s < this.evictBefore) continue;
      entries.push({ seq: s, frame: frameText(s) });
      bytes += frameText(s).length;
    }
    return { seq: this.seq, epoch: EPOCH, entries };
  }
}

/** A sink that records what it was given and says it is backlogged after every `every` frames until drained. */
class FakeSink implements ReplaySink {
  readonly written: number[] = [];
  drains = 0;
  private sinceDrain = 0;
  open = true;
  constructor(private readonly every: number) {}
  write(frame: OutboundFrame): boolean {
    if (!this.open) return false;
    this.written.push(JSON.parse(frame.payload.toString()).seq as number);
    this.sinceDrain++;
    return true;
  }
  get backlogged(): boolean {
    return this.sinceDrain >= this.every;
  }
  async drained(): Promise<boolean> {
    this.drains++;
    this.sinceDrain = 0;
    return this.open;
  }
}

const replayOf = (cluster: FakeCluster, chunkBytes = 250) =>
  new RoomReplay(new RoomSequencer(60_000), cluster as unknown as ClusterAdapter, chunkBytes);

describe('RoomReplay from the cluster', () => {
  it('reads in chunks up to the first position, waits for the reader between chunks, and sends every frame once in order', async () => {
    const cluster = new FakeCluster(20);
    const sink = new FakeSink(2);
    const result = await replayOf(cluster).run('r', { seq: 4, epoch: EPOCH }, DEFAULT_ROOM_SETTINGS, sink);
    expect(result).toEqual({ ok: true, position: { seq: 20, epoch: EPOCH }, sent: 16 });
    expect(sink.written).toEqual(Array.from({ length: 16 }, (_, i) => 5 + i));
    // ~100-byte frames in 250-byte chunks: 3 a read, each read after the previous one's last seq.
    expect(cluster.reads.map((r) => r.afterSeq)).toEqual([4, 7, 10, 13, 16, 19]);
    expect(cluster.reads.every((r) => r.chunk?.maxBytes === 250)).toBe(true);
    expect(cluster.reads.slice(1).every((r) => r.chunk?.toSeq === 20)).toBe(true);
    // The reader was waited for whenever it was backlogged before the next chunk.
    expect(sink.drains).toBeGreaterThanOrEqual(5);
  });

  it('ends with resume_failed history_expired (never a silent gap) when entries are evicted during the replay', async () => {
    const cluster = new FakeCluster(20);
    cluster.evictBefore = 12;
    const sink = new FakeSink(100);
    const result = await replayOf(cluster).run('r', { seq: 4, epoch: EPOCH }, DEFAULT_ROOM_SETTINGS, sink);
    expect(result).toEqual({
      ok: false,
      reason: 'history_expired',
      position: { seq: 20, epoch: EPOCH },
      sent: 3,
    });
    expect(sink.written).toEqual([5, 6, 7]);
  });

  it('fails before sending anything when the history does not reach back to the position', async () => {
    const cluster = new FakeCluster(20);
    const sink = new FakeSink(100);
    const settings = { ...DEFAULT_ROOM_SETTINGS, historySize: 10 };
    expect(await replayOf(cluster).run('r', { seq: 4, epoch: EPOCH }, settings, sink)).toMatchObject({
      ok: false,
      reason: 'history_expired',
      sent: 0,
    });
    expect(sink.written).toEqual([]);
  });

  it('stops, saying so, when the reader goes away during the replay', async () => {
    const cluster = new FakeCluster(20);
    const sink = new FakeSink(2);
    sink.drained = async () => {
      sink.open = false;
      return false;
    };
    expect(await replayOf(cluster).run('r', { seq: 0, epoch: EPOCH }, DEFAULT_ROOM_SETTINGS, sink)).toBe(
      REPLAY_ABANDONED,
    );
    // The chunk already read (three frames) is written out; nothing is read after it.
    expect(sink.written).toEqual([1, 2, 3]);
    expect(cluster.reads).toHaveLength(1);
  });
});

describe('ReplayLimiter', () => {
  it('runs at most `limit` at once and hands slots on in arrival order', async () => {
    const limiter = new ReplayLimiter(2);
    const order: string[] = [];
    const first = await limiter.acquire();
    const second = await limiter.acquire();
    const third = limiter.acquire().then((release) => (order.push('third'), release));
    const fourth = limiter.acquire().then((release) => (order.push('fourth'), release));
    await Promise.resolve();
    expect(limiter.active).toBe(2);
    expect(limiter.queued).toBe(2);
    expect(order).toEqual([]);
    first();
    first(); // releasing twice gives back one slot only
    const releaseThird = await third;
    expect(order).toEqual(['third']);
    expect(limiter.active).toBe(2);
    second();
    (await fourth)();
    releaseThird();
    expect(order).toEqual(['third', 'fourth']);
    expect(limiter.active).toBe(0);
    expect(limiter.queued).toBe(0);
  });
});

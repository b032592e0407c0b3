import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { WebSocket } from 'ws';
import { frameBytes, type OutboundFrame, prepareFrame } from '../../../lib/broadcast/outbound-frame.js';
import { FrameCompression } from '../../../lib/connections/frame-compression.js';
import { writeFrame } from '../../../lib/connections/frame-write.js';
import { HistoryBudget, type HistoryEviction } from '../../../lib/history/history-budget.js';
import { RoomHistory } from '../../../lib/history/room-history.js';

/** A stand-in frame of `bytes` bytes. */
const frameOf = (bytes: number): OutboundFrame => ({ payload: Buffer.alloc(bytes), wire: undefined });

/** A connection that negotiated permessage-deflate, on an idle sender that takes whole frames. */
const compressingMember = (compression: FrameCompression) =>
  ({
    socket: { readyState: 1, _sender: { _state: 0, sendFrame: () => undefined }, send: () => undefined },
    compression,
  }) as unknown as { socket: WebSocket; compression: FrameCompression };

class Counters {
  historyBytes = 0;
  readonly evicted: Record<HistoryEviction, number> = { room_bytes: 0, node_bytes: 0 };
  countHistoryEviction(reason: HistoryEviction, entries: number): void {
    this.evicted[reason] += entries;
  }
}

type Op =
  | { kind: 'push'; room: number; bytes: number }
  /** A delivery to a compressing member of a kept entry (`back` from the latest): makes its twin. */
  | { kind: 'twin'; room: number; back: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'expire'; room: number }
  | { kind: 'clear'; room: number };

const ROOMS = 5;
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      room: fc.nat(ROOMS - 1),
      bytes: fc.integer({ min: 1, max: 400 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('twin' as const), room: fc.nat(ROOMS - 1), back: fc.nat(20) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.nat(400) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), room: fc.nat(ROOMS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), room: fc.nat(ROOMS - 1) }) },
);

describe('RoomHistory under a HistoryBudget', () => {
  it('holds at most the node budget and each room cap (compressed twins included), as gap-free runs that end at the latest seq; evicts the least recently written rooms first; never replays a hole', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 1500 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.array(op, { maxLength: 300 }),
        (size, roomMaxBytes, nodeMaxBytes, ops) => {
          const counters = new Counters();
          const budget = new HistoryBudget(nodeMaxBytes, counters);
          const histories = Array.from(
            { length: ROOMS },
            () => new RoomHistory({ size, ttl: 1000, maxBytes: roomMaxBytes }, budget, counters),
          );
          const latest = new Array<number>(ROOMS).fill(0);
          /** Order of last write, oldest first (the LRU the budget should follow). */
          let order: number[] = [];
          let now = 0;
          const member = compressingMember(new FrameCompression(0, 1));
          for (const step of ops) {
            const countsBefore = histories.map((h) => h.count);
            if (step.kind === 'push') {
              latest[step.room]++;
              histories[step.room].push(latest[step.room], now, frameOf(step.bytes));
              order = [...order.filter((r) => r !== step.room), step.room];
              // The new entry stays whenever it fits both caps on its own.
              if (step.bytes <= roomMaxBytes && step.bytes <= nodeMaxBytes) {
                const held = histories[step.room].since(latest[step.room] - 1, latest[step.room], now);
                expect(held?.map((e) => e.seq)).toEqual([latest[step.room]]);
              }
              // LRU: another room lost entries to this write only if every room written before it is empty.
              for (const [position, room] of order.entries()) {
                if (room === step.room || histories[room].count >= countsBefore[room]) continue;
                for (const older of order.slice(0, position)) expect(histories[older].count).toBe(0);
              }
            } else if (step.kind === 'twin') {
              const history = histories[step.room];
              const held = history.since(
                latest[step.room] - history.count,
                latest[step.room],
                Number.NEGATIVE_INFINITY,
              );
              if (held !== undefined && held.length > 0) {
                const entry = held[held.length - 1 - (step.back % held.length)];
                // A new twin is a write to the room's history: it becomes the most recently used.
                if (entry.frame.deflated === undefined) order = [...order.filter((r) => r !== step.room), step.room];
                writeFrame(member, entry.frame);
              }
            } else if (step.kind === 'tick') {
              now += step.ms;
            } else if (step.kind === 'expire') {
              histories[step.room].dropExpired(now);
            } else {
              histories[step.room].clear();
            }

            let total = 0;
            for (const [room, history] of histories.entries()) {
              total += history.bytes;
              expect(history.count).toBeLessThanOrEqual(size);
              expect(history.bytes).toBeLessThanOrEqual(roomMaxBytes);
              // What is held is exactly the run latest-count+1 … latest.
              const from = latest[room] - history.count;
              const held = history.since(from, latest[room], Number.NEGATIVE_INFINITY);
              expect(held?.map((e) => e.seq)).toEqual(Array.from({ length: history.count }, (_, i) => from + 1 + i));
              expect(held?.reduce((sum, e) => sum + frameBytes(e.frame), 0) ?? 0).toBe(history.bytes);
              // One entry further back is history_expired, never a replay with a hole.
              if (from > 0) expect(history.since(from - 1, latest[room], Number.NEGATIVE_INFINITY)).toBeUndefined();
            }
            expect(budget.bytes).toBe(total);
            expect(counters.historyBytes).toBe(total);
            expect(total).toBeLessThanOrEqual(nodeMaxBytes);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts evictions by reason: the room cap, then the node budget', () => {
    const counters = new Counters();
    const budget = new HistoryBudget(1000, counters);
    const a = new RoomHistory({ size: 100, ttl: 1000, maxBytes: 600 }, budget, counters);
    const b = new RoomHistory({ size: 100, ttl: 1000, maxBytes: 600 }, budget, counters);
    for (let seq = 1; seq <= 4; seq++) a.push(seq, 0, frameOf(200));
    // 800 bytes > 600: room a gave up its oldest entry.
    expect(a.count).toBe(3);
    expect(counters.evicted).toEqual({ room_bytes: 1, node_bytes: 0 });
    for (let seq = 1; seq <= 3; seq++) b.push(seq, 0, frameOf(200));
    // 600 + 600 > 1000: a (the least recently written) gives up its oldest, b keeps all three.
    expect(a.count).toBe(2);
    expect(b.count).toBe(3);
    expect(counters.evicted).toEqual({ room_bytes: 1, node_bytes: 1 });
    expect(budget.bytes).toBe(1000);
    expect(a.since(1, 4, 0)).toBeUndefined();
    expect(a.since(2, 4, 0)?.map((e) => e.seq)).toEqual([3, 4]);
  });

  it('gives every byte back when histories expire or are cleared (nothing left behind)', () => {
    const counters = new Counters();
    const budget = new HistoryBudget(10_000, counters);
    const a = new RoomHistory({ size: 10, ttl: 100, maxBytes: 5000 }, budget, counters);
    const b = new RoomHistory({ size: 10, ttl: 100, maxBytes: 5000 }, budget, counters);
    for (let seq = 1; seq <= 5; seq++) a.push(seq, seq * 10, frameOf(100));
    for (let seq = 1; seq <= 5; seq++) b.push(seq, 0, frameOf(100));
    expect(budget.bytes).toBe(1000);
    // ttl 100 at 125: the entries written at 10 and 20 are past it.
    expect(a.dropExpired(125)).toBe(2);
    expect(a.count).toBe(3);
    b.clear();
    a.clear();
    expect(budget.bytes).toBe(0);
    expect(budget.roomCount).toBe(0);
    expect(counters.historyBytes).toBe(0);
    expect(counters.evicted).toEqual({ room_bytes: 0, node_bytes: 0 });
  });

  it("counts a frame's compressed twin, made after the frame was kept, against the room cap and the node budget, and gives it back", () => {
    const counters = new Counters();
    const budget = new HistoryBudget(100_000, counters);
    const payload = Buffer.from(
      JSON.stringify({ type: 'chat_message', data: { content: 'kept, then compressed '.repeat(100) } }),
    );
    const compression = new FrameCompression(1024, 6);
    const twin = compression.frame(payload).length;
    const plain = frameBytes(prepareFrame(payload));
    // Two frames fit, and one twin; the second twin does not.
    const history = new RoomHistory({ size: 10, ttl: 1000, maxBytes: 2 * plain + 2 * twin - 1 }, budget, counters);
    const [first, second] = [prepareFrame(payload), prepareFrame(payload)];
    history.push(1, 0, first);
    history.push(2, 0, second);
    expect(history.bytes).toBe(2 * plain);
    // A member that negotiated permessage-deflate: its first delivery makes the twin.
    const member = {
      socket: { readyState: 1, _sender: { _state: 0, sendFrame: () => undefined }, send: () => undefined },
      compression,
    } as unknown as { socket: WebSocket; compression: FrameCompression };

    writeFrame(member, first);
    expect(history.bytes).toBe(2 * plain + twin);
    expect(budget.bytes).toBe(2 * plain + twin);
    expect(counters.historyBytes).toBe(2 * plain + twin);
    writeFrame(member, first);
    expect(history.bytes).toBe(2 * plain + twin);

    // The second twin takes the room past its cap: the oldest entry (with its twin) gives way.
    writeFrame(member, second);
    expect(counters.evicted).toEqual({ room_bytes: 1, node_bytes: 0 });
    expect(history.since(1, 2, 0)?.map((e) => e.seq)).toEqual([2]);
    expect(history.bytes).toBe(plain + twin);
    expect(budget.bytes).toBe(plain + twin);

    // Every byte comes back; a twin made once the frame has left the history counts nowhere.
    history.clear();
    const dropped = prepareFrame(payload);
    history.push(3, 0, dropped);
    history.clear();
    writeFrame(member, dropped);
    expect(history.bytes).toBe(0);
    expect(budget.bytes).toBe(0);
    expect(counters.historyBytes).toBe(0);
  });
});

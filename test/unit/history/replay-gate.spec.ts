import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { OutboundFrame } from '../../../lib/broadcast/outbound-frame.js';
import { ReplayGate } from '../../../lib/history/replay-gate.js';
import { RoomHistory } from '../../../lib/history/room-history.js';

const EPOCH = 'e1';
/** A stand-in frame that says which seq it carries (-1: presence). */
const frameOf = (seq: number): OutboundFrame => ({ payload: Buffer.from(String(seq)), wire: undefined });
const seqOf = (frame: OutboundFrame): number => Number(frame.payload.toString());

type Step = 'publish' | 'deliver' | 'presence';

/**
 * One resume, as RoomManager runs it, against one interleaving of what the rest of the system
 * does meanwhile: the room keeps publishing, the node delivers what was published in order (late,
 * as a subscription does), the history is read once at some point after the gate is up, and the
 * gate is opened at some later point. Returns what the client received, in order.
 */
function simulate(lastSeen: number, before: number, steps: Step[], readAt: number, openAt: number): number[] {
  let published = before;
  let delivered = before;
  const client: number[] = [];
  let gate: ReplayGate | undefined = new ReplayGate();
  let history: number[] | undefined;
  let reachedSeq = 0;
  const offer = (seq: number) => {
    if (gate === undefined) client.push(seq);
    else if (gate.offer(seq, seq < 0 ? '' : EPOCH, frameOf(seq))) {
      client.push(seq);
      if (gate.done) gate = undefined;
    }
  };
  const open = () => {
    // The replay: everything after the client's position that the history held when read.
    for (const seq of history!) client.push(seq);
    for (const held of gate!.open(reachedSeq, EPOCH)) client.push(seqOf(held.frame));
    if (gate!.done || gate!.passed(delivered, EPOCH)) gate = undefined;
  };
  for (let i = 0; i <= steps.length; i++) {
    if (i === readAt) {
      reachedSeq = Math.max(lastSeen, published);
      history = [];
      for (let seq = lastSeen + 1; seq <= published; seq++) history.push(seq);
    }
    if (i === openAt) open();
    if (i === steps.length) break;
    const step = steps[i];
    if (step === 'publish') published++;
    else if (step === 'deliver' && delivered < published) offer(++delivered);
    else if (step === 'presence') offer(-1);
  }
  // Whatever is still in flight arrives.
  while (delivered < published) offer(++delivered);
  return client;
}

describe('ReplayGate', () => {
  it('hands the client every message after its position exactly once, in order, whatever the interleaving', () => {
    fc.assert(
      fc.property(
        fc.nat(20),
        fc.nat(20),
        fc.array(fc.constantFrom<Step>('publish', 'deliver', 'deliver', 'presence'), { maxLength: 60 }),
        fc.nat(),
        fc.nat(),
        (seenOffset, before, steps, readSeed, openSeed) => {
          // The client saw at most what had been published when it left.
          const lastSeen = Math.min(seenOffset, before);
          const readAt = readSeed % (steps.length + 1);
          const openAt = readAt + (openSeed % (steps.length + 1 - readAt));
          const received = simulate(lastSeen, before, steps, readAt, openAt);
          const published = before + steps.filter((s) => s === 'publish').length;
          const sequenced = received.filter((seq) => seq >= 0);
          expect(sequenced).toEqual(Array.from({ length: published - lastSeen }, (_, i) => lastSeen + 1 + i));
          // Presence frames that arrived after the gate went up are neither lost nor doubled.
          expect(received.filter((seq) => seq < 0)).toHaveLength(steps.filter((s) => s === 'presence').length);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('holds frames until opened, then drops only what the replay covered', () => {
    const gate = new ReplayGate();
    expect(gate.offer(4, EPOCH, frameOf(4))).toBe(false);
    expect(gate.offer(5, EPOCH, frameOf(5))).toBe(false);
    expect(gate.open(4, EPOCH).map((held) => seqOf(held.frame))).toEqual([5]);
    expect(gate.done).toBe(true);
  });

  it('filters late duplicates after opening until the live stream passes the replay', () => {
    const gate = new ReplayGate();
    expect(gate.open(7, EPOCH)).toEqual([]);
    expect(gate.passed(6, EPOCH)).toBe(false);
    expect(gate.offer(6, EPOCH, frameOf(6))).toBe(false);
    expect(gate.offer(7, EPOCH, frameOf(7))).toBe(false);
    expect(gate.done).toBe(false);
    expect(gate.offer(8, EPOCH, frameOf(8))).toBe(true);
    expect(gate.done).toBe(true);
  });

  it('lets frames of another epoch through: the client learns that the room started over', () => {
    const gate = new ReplayGate();
    gate.open(7, EPOCH);
    expect(gate.offer(1, 'e2', frameOf(1))).toBe(true);
    expect(gate.done).toBe(true);
  });
});

describe('RoomHistory', () => {
  it('replays what it holds after a position, and nothing when it cannot reach back', () => {
    const history = new RoomHistory({ size: 3, ttl: 1000, maxBytes: Number.MAX_SAFE_INTEGER });
    for (let seq = 1; seq <= 5; seq++) history.push(seq, 100 * seq, frameOf(seq));
    expect(history.count).toBe(3);
    expect(history.since(2, 5, 600)?.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(history.since(4, 5, 600)?.map((e) => e.seq)).toEqual([5]);
    expect(history.since(5, 5, 600)).toEqual([]);
    expect(history.since(1, 5, 600)).toBeUndefined();
    // Entry 3 was written at 300: past the ttl at 1301.
    expect(history.since(2, 5, 1301)).toBeUndefined();
    expect(history.since(3, 5, 1301)?.map((e) => e.seq)).toEqual([4, 5]);
  });

  it('never holds more than its size, whatever the traffic', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.nat(500), (size, messages) => {
        const history = new RoomHistory({ size, ttl: 1000, maxBytes: Number.MAX_SAFE_INTEGER });
        for (let seq = 1; seq <= messages; seq++) history.push(seq, 0, frameOf(seq));
        expect(history.count).toBe(Math.min(size, messages));
        const from = Math.max(0, messages - size);
        expect(history.since(from, messages, 0)?.map((e) => e.seq)).toEqual(
          Array.from({ length: messages - from }, (_, i) => from + 1 + i),
        );
      }),
    );
  });
});

import { describe, expect, it, jest } from '@jest/globals';
import { type BatchedWriter, MAX_HELD_BYTES, WriteBatch, writeHeldNow } from '../../../lib/connections/write-batch.js';

/** A stream that records cork levels and what an uncork to level 0 would flush. */
function fakeWriter(): BatchedWriter & { corked: number; flushes: number; pending: number } {
  const writer = {
    corked: 0,
    flushes: 0,
    pending: 0,
    writesHeld: false,
    transport: {
      get writableLength() {
        return writer.pending;
      },
      cork() {
        writer.corked++;
      },
      uncork() {
        if (writer.corked === 0) throw new Error('uncorked more than corked');
        if (--writer.corked === 0) {
          writer.flushes++;
          writer.pending = 0;
        }
      },
    },
  };
  return writer;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('WriteBatch', () => {
  it('corks a connection at its first write of the turn and uncorks every held one once, after the turn', async () => {
    const batch = new WriteBatch(0);
    const a = fakeWriter();
    const b = fakeWriter();
    for (let i = 0; i < 5; i++) {
      batch.hold(a);
      batch.hold(b);
    }
    expect([a.corked, b.corked]).toEqual([1, 1]);
    expect(batch.size).toBe(2);
    await Promise.resolve(); // microtasks are the same turn
    batch.hold(a);
    expect(a.flushes).toBe(0);
    await nextTurn();
    expect([a.corked, b.corked, a.flushes, b.flushes]).toEqual([0, 0, 1, 1]);
    expect([a.writesHeld, b.writesHeld, batch.size]).toEqual([false, false, 0]);
    batch.hold(a); // the next turn's first write starts a new batch
    expect(a.corked).toBe(1);
    await nextTurn();
    expect(a.flushes).toBe(2);
  });

  it('leaves a cork of somebody else in place (the upgrade corks its socket too)', async () => {
    const batch = new WriteBatch(0);
    const a = fakeWriter();
    a.transport!.cork();
    batch.hold(a);
    await nextTurn();
    expect([a.corked, a.flushes]).toEqual([1, 0]);
  });

  it('writes out what a held connection holds once it reaches MAX_HELD_BYTES, and goes on batching', async () => {
    const batch = new WriteBatch(0);
    const a = fakeWriter();
    batch.hold(a);
    a.pending = MAX_HELD_BYTES - 1;
    batch.hold(a);
    expect(a.flushes).toBe(0);
    a.pending = MAX_HELD_BYTES;
    batch.hold(a);
    expect([a.flushes, a.corked, a.writesHeld]).toEqual([1, 1, true]);
    await nextTurn();
    expect([a.flushes, a.corked]).toEqual([2, 0]);
  });

  it('holds at most half of writeBufferSize when that is less than MAX_HELD_BYTES', () => {
    expect(new WriteBatch(0).maxHeldBytes).toBe(MAX_HELD_BYTES);
    expect(new WriteBatch(0, 4 * 1024 * 1024).maxHeldBytes).toBe(MAX_HELD_BYTES);
    const batch = new WriteBatch(0, 1000);
    expect(batch.maxHeldBytes).toBe(500);
    const a = fakeWriter();
    batch.hold(a);
    a.pending = 500;
    batch.hold(a);
    expect(a.flushes).toBe(1);
    batch.stop();
  });

  it('writeHeldNow() writes out what a held connection holds and keeps it in the batch', async () => {
    const batch = new WriteBatch(0);
    const a = fakeWriter();
    writeHeldNow(a); // not held: nothing to do
    expect([a.flushes, a.corked]).toEqual([0, 0]);
    batch.hold(a);
    writeHeldNow(a);
    expect([a.flushes, a.corked, a.writesHeld]).toEqual([1, 1, true]);
    await nextTurn();
    expect([a.flushes, a.corked, a.writesHeld]).toEqual([2, 0, false]);
  });

  it('with a delay, holds writes across turns until the delay has passed', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const batch = new WriteBatch(5);
      const a = fakeWriter();
      const b = fakeWriter();
      batch.hold(a);
      await nextTurn();
      batch.hold(b);
      batch.hold(a);
      jest.advanceTimersByTime(4);
      expect([a.flushes, b.flushes]).toEqual([0, 0]);
      jest.advanceTimersByTime(1);
      expect([a.flushes, b.flushes, batch.size]).toEqual([1, 1, 0]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('ignores connections without a transport, and stop() flushes at once', () => {
    const batch = new WriteBatch(0);
    const bare: BatchedWriter = { transport: undefined, writesHeld: false };
    batch.hold(bare);
    expect(batch.size).toBe(0);
    const a = fakeWriter();
    batch.hold(a);
    batch.stop();
    expect([a.flushes, a.corked, batch.size]).toEqual([1, 0, 0]);
  });
});

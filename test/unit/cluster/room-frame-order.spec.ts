import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { ClusterHistory, RoomFrameParts } from '../../../lib/cluster/cluster.adapter.js';
import { type RoomFrame, RoomFrameOrder } from '../../../lib/cluster/room-frame-order.js';

const E = 'epoch-1';
const PARTS: RoomFrameParts = {
  prefix: '{"type":"chat_message","room":"r","seq":',
  middle: ',"epoch":"',
  suffix: '"}',
};
const frameOf = (seq: number): RoomFrame => ({
  frame: `${PARTS.prefix}${seq}${PARTS.middle}${E}${PARTS.suffix}`,
  type: 'chat_message',
  except: undefined,
  seq,
  epoch: E,
});
const flush = () => new Promise((resolve) => setImmediate(resolve));
/** The failing read-back cases warn on purpose: kept out of the test output. */
const quietLogger = new Logger('test');
quietLogger.warn = () => undefined;

/** A RoomFrameOrder over a history holding seqs 1..`published`, recording what it delivers. */
function setUp(history: { published: number; readable: boolean }) {
  const delivered: number[] = [];
  const order = new RoomFrameOrder(
    (_roomId, frame) => delivered.push(frame.seq),
    async (_roomId, afterSeq): Promise<ClusterHistory> => ({
      seq: history.published,
      epoch: E,
      entries: Array.from({ length: Math.max(0, history.published - afterSeq) }, (_, i) => ({
        seq: afterSeq + 1 + i,
        frame: frameOf(afterSeq + 1 + i).frame,
      })),
    }),
    () => history.readable,
    new Logger('test'),
  );
  return { order, delivered };
}

describe('RoomFrameOrder', () => {
  it('delivers an own frame whose echo was lost with the subscriber connection', () => {
    const { order, delivered } = setUp({ published: 2, readable: false });
    order.received('r', frameOf(1));
    order.published('r', { seq: 2, epoch: E, parts: PARTS, except: undefined }, true);
    expect(order.unechoedCount).toBe(1);
    order.echoesLost();
    expect(delivered).toEqual([1, 2]);
    expect(order.unechoedCount).toBe(0);
  });

  it("keeps an own frame's trace context when it is delivered in place of its lost echo", () => {
    const frames: RoomFrame[] = [];
    const order = new RoomFrameOrder(
      (_roomId, frame) => frames.push(frame),
      async () => undefined,
      () => false,
      new Logger('test'),
    );
    const trace = '{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}';
    order.received('r', frameOf(1));
    order.published('r', { seq: 2, epoch: E, parts: PARTS, except: undefined, trace }, true);
    order.echoesLost();
    expect(frames.map((frame) => [frame.seq, frame.trace])).toEqual([
      [1, undefined],
      [2, trace],
    ]);
    expect(frames[1].frame).toBe(frameOf(2).frame);
  });

  it('delivers an own frame in place of its echo when a later frame overtakes it (a new epoch, subscription not back yet)', () => {
    const { order, delivered } = setUp({ published: 0, readable: true });
    // Redis restarted: this node's first frame of the new epoch was published before its room
    // subscription was back, so its echo never comes; the next frame does.
    order.published('r', { seq: 1, epoch: E, parts: PARTS, except: undefined }, true);
    order.received('r', frameOf(2));
    expect(delivered).toEqual([1, 2]);
    expect(order.unechoedCount).toBe(0);
    // An echo that comes after all is recognised and dropped.
    order.received('r', frameOf(1));
    expect(delivered).toEqual([1, 2]);
  });

  it('reads missed frames back before a frame that skips ahead, and before the frames that follow it', async () => {
    const { order, delivered } = setUp({ published: 5, readable: true });
    order.received('r', frameOf(1));
    order.received('r', frameOf(4));
    order.received('r', frameOf(5));
    await flush();
    expect(delivered).toEqual([1, 2, 3, 4, 5]);
    expect(order.repairCount).toBe(0);
  });

  it('keeps waiting for the echo of own frames published after the frame that revealed a gap', async () => {
    // Own frames 3 and 5; remote frame 4 arrives while 2 (remote) was lost.
    const history = { published: 5, readable: false };
    const { order, delivered } = setUp(history);
    order.received('r', frameOf(1));
    order.published('r', { seq: 3, epoch: E, parts: PARTS, except: undefined }, true);
    order.published('r', { seq: 5, epoch: E, parts: PARTS, except: undefined }, true);
    order.received('r', frameOf(4));
    // 3 is held behind the read-back; 5 still awaits its echo.
    expect(order.unechoedCount).toBe(1);
    // The echo of 5 is lost too: it waits behind the read-back as well.
    order.echoesLost();
    expect(delivered).toEqual([1]);
    expect(order.unechoedCount).toBe(0);
    // Redis is back: everything, once, in order.
    history.readable = true;
    order.runRepairs();
    await flush();
    expect(delivered).toEqual([1, 2, 3, 4, 5]);
    expect(order.repairCount).toBe(0);
  });

  describe('a read-back that fails while Redis stays connected', () => {
    afterEach(() => {
      jest.useRealTimers();
    });

    // A read that errs or times out while the connection stays up brings no 'ready' event to
    // start it again: retried on its own, the room is not held back (nothing delivered on this
    // node) until MAX_HELD_PER_ROOM frames have piled up.
    it('is tried again on its own, and the frames held behind it are delivered', async () => {
      jest.useFakeTimers();
      let failures = 2;
      const delivered: number[] = [];
      const reads: number[] = [];
      const order = new RoomFrameOrder(
        (_roomId, frame) => delivered.push(frame.seq),
        async (_roomId, afterSeq): Promise<ClusterHistory | undefined> => {
          reads.push(afterSeq);
          if (failures-- > 0) return undefined; // a command error or timeout
          return { seq: 3, epoch: E, entries: [{ seq: 2, frame: frameOf(2).frame }] };
        },
        () => true,
        quietLogger,
      );
      order.received('r', frameOf(1));
      order.received('r', frameOf(3));
      order.received('r', frameOf(4));
      await jest.advanceTimersByTimeAsync(0);
      expect(reads).toEqual([1]);
      expect(delivered).toEqual([1]);
      await jest.advanceTimersByTimeAsync(10_000);
      expect(reads).toEqual([1, 1, 1]);
      expect(delivered).toEqual([1, 2, 3, 4]);
      expect(order.repairCount).toBe(0);
      // Nothing more is scheduled once it succeeded.
      expect(jest.getTimerCount()).toBe(0);
    });

    /** An order whose every read-back fails, with room r's frame 2 missed; `reads`: each try's `afterSeq`. */
    async function failingReadBack(canRead: () => boolean) {
      jest.useFakeTimers();
      const reads: number[] = [];
      const order = new RoomFrameOrder(
        () => undefined,
        async (_roomId, afterSeq): Promise<ClusterHistory | undefined> => {
          reads.push(afterSeq);
          return undefined;
        },
        canRead,
        quietLogger,
      );
      order.received('r', frameOf(1));
      order.received('r', frameOf(3));
      await jest.advanceTimersByTimeAsync(0);
      expect(reads).toEqual([1]);
      return { order, reads };
    }

    it('keeps one scheduled try when Redis comes back before it', async () => {
      const { order, reads } = await failingReadBack(() => true);
      expect(jest.getTimerCount()).toBe(1);
      // The connection's 'ready' starts it early; it fails again: still one try scheduled.
      order.runRepairs();
      await jest.advanceTimersByTimeAsync(0);
      expect(reads).toEqual([1, 1]);
      expect(jest.getTimerCount()).toBe(1);
      order.clear();
      expect(jest.getTimerCount()).toBe(0);
    });

    it('waits for Redis instead while it cannot be read, and leaves no timer behind when the room is forgotten', async () => {
      let readable = true;
      const { order, reads } = await failingReadBack(() => readable);
      // Disconnected now: the next try is the one the connection's 'ready' starts (runRepairs).
      readable = false;
      await jest.advanceTimersByTimeAsync(10_000);
      expect(reads).toEqual([1]);
      readable = true;
      order.runRepairs();
      await jest.advanceTimersByTimeAsync(0);
      expect(reads).toEqual([1, 1]);
      order.forget('r');
      expect(jest.getTimerCount()).toBe(0);
    });
  });
});

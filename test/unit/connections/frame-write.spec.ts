import { describe, expect, it, jest } from '@jest/globals';
import { constants, inflateRawSync } from 'node:zlib';

/** Inflates as a permessage-deflate receiver does: the tail appended, no final block expected. */
const inflate = (data: Buffer): Buffer => inflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
import { prepareFrame } from '../../../lib/broadcast/outbound-frame.js';
import { FrameCompression } from '../../../lib/connections/frame-compression.js';
import { deflatedWire, writeFrame, writeText } from '../../../lib/connections/frame-write.js';
import { RealtimeStats } from '../../../lib/stats/realtime-stats.js';
import type { WebSocket } from 'ws';

const payload = Buffer.from(
  JSON.stringify({ type: 'chat_message', data: { content: 'compress me once '.repeat(100) } }),
);

/** A socket whose idle sender records the buffers written as is. */
function recordingSocket(): { socket: WebSocket; written: Buffer[]; sent: unknown[] } {
  const written: Buffer[] = [];
  const sent: unknown[] = [];
  const socket = {
    readyState: 1,
    _sender: { _state: 0, sendFrame: (list: Buffer[]) => written.push(...list) },
    send: (data: unknown) => sent.push(data),
  } as unknown as WebSocket;
  return { socket, written, sent };
}

describe('writing text frames, compressed once or per reply (connections/frame-write.ts)', () => {
  it('deflates a frame on first use and hands the same buffer to every later recipient', () => {
    const compression = new FrameCompression(1024, 6);
    const deflate = jest.spyOn(compression, 'frame');
    const frame = prepareFrame(payload);
    const wire = deflatedWire(frame, compression);
    expect(deflatedWire(frame, compression)).toBe(wire);
    expect(deflate).toHaveBeenCalledTimes(1);
    // RSV1 text frame, 7-bit or 16-bit length, then raw deflate without the sync-flush tail.
    expect(wire[0]).toBe(0xc1);
    const body = wire.subarray(wire[1] === 126 ? 4 : 2);
    expect(inflate(Buffer.concat([body, Buffer.from([0, 0, 0xff, 0xff])])).equals(payload)).toBe(true);
  });

  it('writes the shared compressed frame to compressing connections, the plain one to the others and below the threshold', () => {
    const frame = prepareFrame(payload);
    const small = prepareFrame(Buffer.from('{"type":"small"}'));
    const compression = new FrameCompression(1024, 6);
    const [a, b, plain] = [recordingSocket(), recordingSocket(), recordingSocket()];
    writeFrame({ socket: a.socket, compression }, frame);
    writeFrame({ socket: b.socket, compression }, frame);
    writeFrame({ socket: plain.socket, compression: undefined }, frame);
    writeFrame({ socket: a.socket, compression }, small);
    expect(a.written[0]).toBe(frame.deflated);
    expect(b.written[0]).toBe(frame.deflated);
    expect(plain.written[0]).toBe(frame.wire);
    expect(a.written[1]).toBe(small.wire);
    expect(small.deflated).toBeUndefined();
    expect([a.sent, b.sent, plain.sent]).toEqual([[], [], []]);
  });

  it('falls back to an uncompressed send() while the sender is busy, keeping the order', () => {
    const { socket, written, sent } = recordingSocket();
    (socket as unknown as { _sender: { _state: number } })._sender._state = 2;
    const frame = prepareFrame(payload);
    writeFrame({ socket, compression: new FrameCompression(0, 6) }, frame);
    expect(written).toEqual([]);
    expect(sent).toEqual([frame.payload]);
  });

  it('deflates a reply for its one recipient on each write, through the same frame path', () => {
    const compression = new FrameCompression(1024, 6);
    const deflate = jest.spyOn(compression, 'frame');
    const text = payload.toString();
    const { socket, written, sent } = recordingSocket();
    writeText({ socket, compression }, text);
    writeText({ socket, compression }, text);
    // Two replies, two deflates: nothing is shared between replies.
    expect(deflate).toHaveBeenCalledTimes(2);
    expect(written).toHaveLength(2);
    expect(written[0]).not.toBe(written[1]);
    expect(written[0].equals(written[1])).toBe(true);
    expect(written[0].equals(compression.frame(payload))).toBe(true);
    expect(sent).toEqual([]);
  });

  it('sends a reply below the threshold as it is: the text when it cannot reach it, the bytes when only its UTF-16 length could', () => {
    const compression = new FrameCompression(30, 6);
    const deflate = jest.spyOn(compression, 'frame');
    const { socket, written, sent } = recordingSocket();
    writeText({ socket, compression }, 'short');
    // 12 UTF-16 units could be 36 UTF-8 bytes, but these are 12.
    writeText({ socket, compression }, 'twelve bytes');
    writeText({ socket, compression: undefined }, payload.toString());
    expect(deflate).not.toHaveBeenCalled();
    expect(written).toEqual([]);
    expect(sent).toEqual(['short', Buffer.from('twelve bytes'), payload.toString()]);
  });

  it('counts frames written compressed per recipient, and deflated bytes per deflate', () => {
    const stats = new RealtimeStats();
    const compression = new FrameCompression(1024, 6, stats);
    const broadcast = prepareFrame(payload);
    for (let i = 0; i < 3; i++) writeFrame({ socket: recordingSocket().socket, compression }, broadcast);
    writeFrame({ socket: recordingSocket().socket, compression: undefined }, broadcast);
    writeFrame({ socket: recordingSocket().socket, compression }, prepareFrame(Buffer.from('{"type":"small"}')));
    writeText({ socket: recordingSocket().socket, compression }, payload.toString());
    const deflatedBytes = (wire: Buffer): number => wire.length - (wire[1] === 126 ? 4 : 2);
    // Three members and one reply went out compressed; the plain member and the small frame did not.
    expect(stats.compressedFrames).toBe(4);
    // Two deflates of the payload: the broadcast once, the reply once.
    expect(stats.compressionBytesIn).toBe(2 * payload.length);
    expect(stats.compressionBytesOut).toBe(2 * deflatedBytes(broadcast.deflated!));
    expect(stats.compressionBytesOut).toBeLessThan(stats.compressionBytesIn / 3);
    // A write that falls back to send() (busy sender) is not a compressed frame.
    const busy = recordingSocket();
    (busy.socket as unknown as { _sender: { _state: number } })._sender._state = 2;
    writeFrame({ socket: busy.socket, compression }, broadcast);
    expect(stats.compressedFrames).toBe(4);
    stats.onModuleDestroy();
  });

  it("tells the frame's keeper the size of a twin made after it was kept, once", () => {
    const frame = prepareFrame(payload);
    const twinMade = jest.fn();
    frame.keeper = { twinMade };
    const compression = new FrameCompression(1024, 6);
    writeFrame({ socket: recordingSocket().socket, compression }, frame);
    writeFrame({ socket: recordingSocket().socket, compression }, frame);
    expect(twinMade).toHaveBeenCalledTimes(1);
    expect(twinMade).toHaveBeenCalledWith(frame, frame.deflated!.length);
  });
});

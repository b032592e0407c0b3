import { describe, expect, it, jest } from '@jest/globals';
import { constants, inflateRawSync } from 'node:zlib';

/** Inflates as a permessage-deflate receiver does: the tail appended, no final block expected. */
const inflate = (data: Buffer): Buffer => inflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
import { deflatedWire } from '../../../lib/broadcast/deflated-frame.js';
import { prepareFrame, writeFrame } from '../../../lib/broadcast/outbound-frame.js';
import { FrameCompression } from '../../../lib/connections/frame-compression.js';
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

describe('compress-once frames (broadcast/deflated-frame.ts)', () => {
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
});

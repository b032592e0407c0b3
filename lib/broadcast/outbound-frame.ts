import * as ws from 'ws';
import type { WebSocket } from 'ws';

/**
 * A broadcast, serialized once and framed once: `payload` is the JSON text, `wire` the complete
 * WebSocket text frame (header and payload in one buffer) that goes to every recipient as is.
 */
export interface OutboundFrame {
  payload: Buffer;
  wire: Buffer | undefined;
}

interface WsSender {
  _state?: number;
  sendFrame?(list: Buffer[], cb?: () => void): void;
}

/** `ws` exports its Sender; its typings do not declare it. */
const Sender = (ws as unknown as { Sender?: { frame?(data: Buffer, options: object): Buffer[]; prototype: WsSender } })
  .Sender;

const FRAME_OPTIONS = Object.freeze({ fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false });
const TEXT_FRAME = Object.freeze({ binary: false });

/**
 * Whether this `ws` has the two pieces the pre-framed path relies on: the public static
 * `Sender.frame()` and the sender's `sendFrame()`. They have been stable through ws 8; if a
 * future version changes them, every frame simply goes through `WebSocket#send()`.
 */
const PREFRAMING = typeof Sender?.frame === 'function' && typeof Sender.prototype.sendFrame === 'function';

/**
 * Frames a serialized payload once for all its recipients. The payload is then a view into the
 * framed buffer rather than a second copy: a frame kept for a while (room history, a conflated
 * frame) costs its bytes once.
 */
export function prepareFrame(payload: Buffer): OutboundFrame {
  if (!PREFRAMING) return { payload, wire: undefined };
  const [header, data] = Sender!.frame!(payload, FRAME_OPTIONS);
  if (data === undefined) return { payload: header.subarray(header.length - payload.length), wire: header };
  const wire = Buffer.concat([header, data], header.length + data.length);
  return { payload: wire.subarray(header.length), wire };
}

/** Bytes a prepared frame holds (its payload is a view into `wire` when there is one). */
export function frameBytes(frame: OutboundFrame): number {
  return frame.wire?.length ?? frame.payload.length;
}

/**
 * Writes a prepared frame to one open socket: one `write` of the shared buffer, no per-recipient
 * header, options object or copy. Falls back to `send()` while the socket's sender is busy
 * (compressing or reading a Blob: frames must keep their order) or without pre-framing.
 */
export function writeFrame(socket: WebSocket, frame: OutboundFrame): void {
  const sender = (socket as unknown as { _sender?: WsSender })._sender;
  if (frame.wire !== undefined && sender !== undefined && sender._state === 0) {
    sender.sendFrame!([frame.wire]);
  } else {
    socket.send(frame.payload, TEXT_FRAME);
  }
}

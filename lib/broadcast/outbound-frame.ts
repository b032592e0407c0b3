import type { WebSocket } from 'ws';
import { frameText, preframingEnabled, writeWholeFrame } from '../internal/ws-internals.js';

/**
 * A broadcast, serialized once and framed once: `payload` is the JSON text, `wire` the complete
 * WebSocket text frame (header and payload in one buffer) that goes to every recipient as is.
 */
export interface OutboundFrame {
  payload: Buffer;
  wire: Buffer | undefined;
}

const TEXT_FRAME = Object.freeze({ binary: false });

/**
 * Frames a serialized payload once for all its recipients. The payload is then a view into the
 * framed buffer rather than a second copy: a frame kept for a while (room history, a conflated
 * frame) costs its bytes once. Without pre-framing (see lib/internal/ws-internals.ts) the frame
 * is the payload alone.
 */
export function prepareFrame(payload: Buffer): OutboundFrame {
  if (!preframingEnabled()) return { payload, wire: undefined };
  const [header, data] = frameText(payload);
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
  if (frame.wire === undefined || !writeWholeFrame(socket, frame.wire)) {
    socket.send(frame.payload, TEXT_FRAME);
  }
}

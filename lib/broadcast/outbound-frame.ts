import type { WebSocket } from 'ws';
import type { FrameCompression } from '../connections/frame-compression.js';
import { frameText, preframingEnabled, writeWholeFrame } from '../internal/ws-internals.js';
import { deflatedWire } from './deflated-frame.js';

/**
 * A broadcast, serialized once and framed once: `payload` is the JSON text, `wire` the complete
 * WebSocket text frame (header and payload in one buffer) that goes to every recipient as is.
 */
export interface OutboundFrame {
  payload: Buffer;
  wire: Buffer | undefined;
  /**
   * The compressed frame (RSV1) for members that negotiated `permessage-deflate`, made by the
   * first such delivery and shared by the others (broadcast/deflated-frame.ts); `undefined`
   * until then.
   */
  deflated?: Buffer | undefined;
}

const TEXT_FRAME = Object.freeze({ binary: false });

/** What a frame is written to: a `RealtimeConnection` (its socket and its compression). */
export interface FrameTarget {
  readonly socket: WebSocket;
  readonly compression: FrameCompression | undefined;
}

/**
 * Frames a serialized payload once for all its recipients. The payload is then a view into the
 * framed buffer rather than a second copy: a frame kept for a while (room history, a conflated
 * frame) costs its bytes once. Without pre-framing (see lib/internal/ws-internals.ts) the frame
 * is the payload alone.
 */
export function prepareFrame(payload: Buffer): OutboundFrame {
  if (!preframingEnabled()) return { payload, wire: undefined, deflated: undefined };
  const [header, data] = frameText(payload);
  if (data === undefined) {
    return { payload: header.subarray(header.length - payload.length), wire: header, deflated: undefined };
  }
  const wire = Buffer.concat([header, data], header.length + data.length);
  return { payload: wire.subarray(header.length), wire, deflated: undefined };
}

/** Bytes a prepared frame holds (its payload is a view into `wire` when there is one). */
export function frameBytes(frame: OutboundFrame): number {
  return frame.wire?.length ?? frame.payload.length;
}

/**
 * Writes a prepared frame to one open connection: one `write` of the shared buffer, no
 * per-recipient header, options object or copy — the compressed one to a connection that
 * negotiated `permessage-deflate` when the payload reaches the threshold. Falls back to `send()`
 * (uncompressed) while the socket's sender is busy (reading a Blob: frames must keep their
 * order) or without pre-framing.
 */
export function writeFrame(connection: FrameTarget, frame: OutboundFrame): void {
  const compression = connection.compression;
  const wire =
    compression === undefined || frame.payload.length < compression.threshold
      ? frame.wire
      : deflatedWire(frame, compression);
  const socket = connection.socket;
  if (wire === undefined || !writeWholeFrame(socket, wire)) socket.send(frame.payload, TEXT_FRAME);
}

import type { TextFrame } from '../connections/frame-write.js';
import { frameText, preframingEnabled } from '../internal/ws-internals.js';

/**
 * A broadcast, serialized once and framed once: `payload` is the JSON text, `wire` the complete
 * WebSocket text frame (header and payload in one buffer) that goes to every recipient as is,
 * `deflated` its compressed twin, made once on first use (connections/frame-write.ts writes
 * them).
 */
export interface OutboundFrame extends TextFrame {
  payload: Buffer;
  wire: Buffer | undefined;
}

/**
 * Frames a serialized payload once for all its recipients. The payload is then a view into the
 * framed buffer rather than a second copy: a frame kept for a while (room history, a conflated
 * frame) costs its bytes once. Without pre-framing (see lib/internal/ws-internals.ts) the frame
 * is the payload alone.
 */
export function prepareFrame(payload: Buffer): OutboundFrame {
  if (!preframingEnabled()) return { payload, wire: undefined, deflated: undefined, keeper: undefined };
  const [header, data] = frameText(payload);
  if (data === undefined) {
    return {
      payload: header.subarray(header.length - payload.length),
      wire: header,
      deflated: undefined,
      keeper: undefined,
    };
  }
  const wire = Buffer.concat([header, data], header.length + data.length);
  return { payload: wire.subarray(header.length), wire, deflated: undefined, keeper: undefined };
}

/**
 * Bytes a prepared frame holds: its frame (the payload is a view into `wire` when there is one)
 * and its compressed twin once made, which lives as long as the frame.
 */
export function frameBytes(frame: OutboundFrame): number {
  return (frame.wire?.length ?? frame.payload.length) + (frame.deflated?.length ?? 0);
}

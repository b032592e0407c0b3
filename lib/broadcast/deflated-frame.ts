import type { FrameCompression } from '../connections/frame-compression.js';

/** The part of an `OutboundFrame` (outbound-frame.ts) the compressed twin lives in. */
export interface DeflatableFrame {
  readonly payload: Buffer;
  deflated?: Buffer | undefined;
}

/**
 * The compressed frame of a broadcast, made once: the first delivery to a member that negotiated
 * `permessage-deflate` deflates and frames the payload (RSV1 set, no context takeover, so every
 * such member can inflate the same bytes), and every later one — in this fan-out, a replay from
 * history or a conflated flush — writes that same buffer. Per-socket compression (`ws`,
 * Socket.IO) deflates a broadcast once per recipient instead.
 *
 * Made on first use rather than with the frame: a room with no compressing member, or a frame
 * kept in history nobody replays, never pays for it.
 */
export function deflatedWire(frame: DeflatableFrame, compression: FrameCompression): Buffer {
  return (frame.deflated ??= compression.frame(frame.payload));
}

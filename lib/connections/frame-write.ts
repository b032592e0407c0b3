import type { WebSocket } from 'ws';
import { writeWholeFrame } from '../internal/ws-internals.js';
import type { FrameCompression } from './frame-compression.js';

/**
 * Who keeps a frame for a while and bounds the bytes it holds (a room's history): told when the
 * frame's compressed twin is made after it was kept, so that the twin counts against the bound.
 */
export interface FrameKeeper {
  twinMade(frame: TextFrame, bytes: number): void;
}

/**
 * A text message as it is written: its JSON `payload`, its plain WebSocket frame `wire` when
 * pre-framed, and its compressed twin `deflated` once made. A broadcast (`OutboundFrame`,
 * broadcast/outbound-frame.ts) is one object shared by all its recipients, so its twin is
 * deflated once for all of them; a reply is a fresh one (see {@link writeText}), deflated for its
 * one recipient.
 */
export interface TextFrame {
  readonly payload: Buffer;
  readonly wire: Buffer | undefined;
  /**
   * The compressed frame (RSV1) for connections that negotiated `permessage-deflate`, made by
   * the first such write and shared by the later ones; `undefined` until then. Made on first use
   * rather than with the frame: a room with no compressing member, or a frame kept in history
   * nobody replays, never pays for it.
   */
  deflated?: Buffer | undefined;
  /** Who keeps the frame and counts its bytes (room history), if anyone. */
  keeper?: FrameKeeper | undefined;
}

/** What a frame is written to: a `RealtimeConnection` (its socket and its compression). */
export interface FrameTarget {
  readonly socket: WebSocket;
  readonly compression: FrameCompression | undefined;
}

const TEXT_FRAME = Object.freeze({ binary: false });

/**
 * The compressed twin of `frame`, made once: the first write to a connection that negotiated
 * `permessage-deflate` deflates and frames the payload (RSV1, no context takeover, so every such
 * connection can inflate the same bytes), and every later one — the rest of a fan-out, a replay
 * from history, a conflated flush — writes that same buffer. Per-socket compression (`ws`,
 * Socket.IO) deflates a broadcast once per recipient instead.
 */
export function deflatedWire(frame: TextFrame, compression: FrameCompression): Buffer {
  let deflated = frame.deflated;
  if (deflated === undefined) {
    deflated = frame.deflated = compression.frame(frame.payload);
    frame.keeper?.twinMade(frame, deflated.length);
  }
  return deflated;
}

/**
 * The one place a text frame is written, broadcast or reply: one `write` of a whole frame (no
 * per-recipient header, options object or copy) — the compressed twin to a connection that
 * negotiated `permessage-deflate` when the payload reaches the threshold, else the plain frame.
 * Falls back to `send()` (uncompressed) while the socket's sender is busy (reading a Blob: frames
 * must keep their order) or without pre-framing. The caller holds the write batch and checks
 * the reader's backlog.
 */
export function writeFrame(target: FrameTarget, frame: TextFrame): void {
  const compression = target.compression;
  const socket = target.socket;
  if (compression !== undefined && frame.payload.length >= compression.threshold) {
    if (writeWholeFrame(socket, deflatedWire(frame, compression))) {
      if (compression.counters !== undefined) compression.counters.compressedFrames++;
      return;
    }
  } else if (frame.wire !== undefined && writeWholeFrame(socket, frame.wire)) {
    return;
  }
  socket.send(frame.payload, TEXT_FRAME);
}

/**
 * Writes a serialized reply to its one recipient. A text that cannot reach the compression
 * threshold goes to `send()` as it is (no Buffer made); a longer one is deflated here, in this
 * turn, and written through {@link writeFrame} like a broadcast: in call order with every other
 * frame of the connection (`ws` itself never compresses).
 */
export function writeText(target: FrameTarget, text: string): void {
  const compression = target.compression;
  // A UTF-8 payload has at most 3 bytes per UTF-16 unit: shorter texts are below the threshold.
  if (compression !== undefined && text.length * 3 >= compression.threshold) {
    writeFrame(target, { payload: Buffer.from(text), wire: undefined, deflated: undefined, keeper: undefined });
  } else {
    target.socket.send(text);
  }
}

/**
 * The seam to `ws`'s `permessage-deflate` (RFC 7692), for compress-once broadcasts: the server
 * negotiates the extension through `ws`, but never lets `ws` compress — it deflates a broadcast
 * once itself and writes the same RSV1 frame to every member that negotiated compatible
 * parameters.
 *
 * What it relies on (pinned by `test/unit/internal/ws-deflate.spec.ts` for the installed `ws`):
 * - a `perMessageDeflate.threshold` of `Infinity` keeps `ws`'s sender from compressing anything
 *   (its rule is `rsv1 = byteLength >= threshold`), so the sender stays idle (no async zlib,
 *   no queue) and every frame of a connection is written in call order;
 * - `Sender.frame()` (not public) with `rsv1: true` builds the header of a compressed text frame;
 * - a socket's `_extensions['permessage-deflate'].params`: the parameters the server accepted
 *   (the public `WebSocket#extensions` only names the extension).
 *
 * Pre-framing's own checks (lib/internal/ws-internals.ts) decide whether such a frame can be
 * written at all; the server turns compression off for a connection when they fail.
 */
import * as ws from 'ws';
import type { WebSocket } from 'ws';

interface SenderClass {
  frame?(data: Buffer, options: object): Buffer[];
}

const Sender = (ws as unknown as { Sender?: SenderClass }).Sender;

/** `ws`'s `threshold` that keeps it from compressing any frame itself. */
export const WS_NEVER_COMPRESSES = Number.POSITIVE_INFINITY;

/** An unmasked, final text frame whose payload is deflated (RSV1, the "Per-Message Compressed" bit). */
const COMPRESSED_TEXT_FRAME = Object.freeze({ fin: true, rsv1: true, opcode: 1, mask: false, readOnly: false });

/** The largest LZ77 window a deflate stream may use (2^15 bytes), and the RFC 7692 default. */
export const MAX_WINDOW_BITS = 15;

/** The `permessage-deflate` parameters a connection negotiated. */
export interface NegotiatedDeflate {
  /** The server resets its compression context after each message (`server_no_context_takeover`). */
  readonly serverNoContextTakeover: boolean;
  /** The LZ77 window the peer's decompressor keeps (`server_max_window_bits`; 15 when absent). */
  readonly serverMaxWindowBits: number;
}

/** The complete compressed text frame (header and payload in one buffer) of deflated bytes. */
export function frameCompressedText(deflated: Buffer): Buffer {
  const parts = Sender!.frame!(deflated, COMPRESSED_TEXT_FRAME);
  return parts.length === 1 ? parts[0] : Buffer.concat(parts, parts[0].length + parts[1].length);
}

/** Whether `Sender.frame()` can build compressed frames (checked once by the server). */
export function canFrameCompressed(): boolean {
  if (typeof Sender?.frame !== 'function') return false;
  const wire = frameCompressedText(Buffer.from([0x02, 0x00]));
  return wire.length === 4 && wire[0] === 0xc1 && wire[1] === 2 && wire[2] === 0x02 && wire[3] === 0x00;
}

interface ExtensionInternals {
  params?: Record<string, unknown> | null;
}

/**
 * The `permessage-deflate` parameters negotiated on an open `socket`, or `undefined` when the
 * extension is not in use (or `ws` no longer keeps it where this reads it: the connection then
 * gets uncompressed frames, which is correct). `WebSocket#extensions` names the extension but
 * not its parameters; `ws` keeps the accepted ones in `_extensions['permessage-deflate'].params`,
 * with numbers parsed (`server_max_window_bits: 10`) and flags as `true`.
 */
export function negotiatedDeflate(socket: WebSocket): NegotiatedDeflate | undefined {
  const extensions = (socket as unknown as { _extensions?: Record<string, ExtensionInternals | undefined> })
    ._extensions;
  const params = extensions?.['permessage-deflate']?.params;
  if (typeof params !== 'object' || params === null) return undefined;
  const bits = params.server_max_window_bits;
  return {
    serverNoContextTakeover: params.server_no_context_takeover === true,
    serverMaxWindowBits: bits === undefined ? MAX_WINDOW_BITS : typeof bits === 'number' ? bits : Number.NaN,
  };
}

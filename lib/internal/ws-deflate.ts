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
 * - `WebSocket#extensions` (public) is the negotiated `Sec-WebSocket-Extensions` value, e.g.
 *   `permessage-deflate; server_no_context_takeover; client_no_context_takeover`.
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

/**
 * The `permessage-deflate` parameters negotiated on `socket`, from its public `extensions`
 * string, or `undefined` when the extension is not in use.
 */
export function negotiatedDeflate(socket: Pick<WebSocket, 'extensions'>): NegotiatedDeflate | undefined {
  const header = socket.extensions;
  if (typeof header !== 'string' || header === '') return undefined;
  // The server accepts one extension offer, so the value holds at most one permessage-deflate.
  for (const extension of header.split(',')) {
    const [name, ...params] = extension.split(';').map((part) => part.trim());
    if (name !== 'permessage-deflate') continue;
    let serverNoContextTakeover = false;
    let serverMaxWindowBits = MAX_WINDOW_BITS;
    for (const param of params) {
      const [key, raw] = param.split('=').map((part) => part.trim());
      if (key === 'server_no_context_takeover') serverNoContextTakeover = true;
      else if (key === 'server_max_window_bits' && raw !== undefined) {
        serverMaxWindowBits = Number(raw.replace(/^"|"$/g, ''));
      }
    }
    return { serverNoContextTakeover, serverMaxWindowBits };
  }
  return undefined;
}

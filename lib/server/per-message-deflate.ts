import type { PerMessageDeflateOptions } from 'ws';
import { type CompressionCounters, FrameCompression } from '../connections/frame-compression.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { canFrameCompressed, MAX_WINDOW_BITS, negotiatedDeflate, WS_NEVER_COMPRESSES } from '../internal/ws-deflate.js';
import { preframingEnabled } from '../internal/ws-internals.js';
import type { WebSocket } from 'ws';

/**
 * How the server negotiates `permessage-deflate` (RFC 7692) through `ws`, and which connections
 * get the node's compressed frames.
 *
 * - `server_no_context_takeover`: the server compresses each message on its own, so one
 *   compressed broadcast is valid for every peer whatever else it received (with context
 *   takeover each peer's inflater would expect the server's per-socket history);
 * - `client_no_context_takeover`: peers compress each message on their own too, so the server's
 *   inflater keeps no window between messages;
 * - `threshold: Infinity`: `ws` never compresses itself (lib/internal/ws-deflate.ts); the server
 *   does, once per broadcast, and writes frames in call order;
 * - `server_max_window_bits` is not imposed: refusing a peer's offer would fail its handshake
 *   (ws answers 400), so a peer that asks for a smaller window is accepted and gets uncompressed
 *   frames (ours use the full 15-bit window).
 *
 * The inflate limit is `ws`'s `maxPayload` (`maxMessageSize`): a message that inflates past it
 * closes the connection with 1009.
 */
export function perMessageDeflateOption(options: ResolvedRealtimeOptions): PerMessageDeflateOptions | false {
  if (!options.compression.enabled) return false;
  return {
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    threshold: WS_NEVER_COMPRESSES,
  };
}

/**
 * The node's compression for its connections, or `undefined` when it is off — or when
 * pre-framing is unavailable (the compressed frame could not be written as is). Counts into
 * `counters` (the node's stats).
 */
export function nodeCompression(
  options: ResolvedRealtimeOptions,
  counters: CompressionCounters,
): FrameCompression | undefined {
  const { enabled, threshold, level } = options.compression;
  if (!enabled || !preframingEnabled() || !canFrameCompressed()) return undefined;
  return new FrameCompression(threshold, level, counters);
}

/** `compression` when `socket` negotiated parameters our compressed frames are valid for, else `undefined`. */
export function compressionFor(
  socket: WebSocket,
  compression: FrameCompression | undefined,
): FrameCompression | undefined {
  if (compression === undefined) return undefined;
  const negotiated = negotiatedDeflate(socket);
  return negotiated?.serverNoContextTakeover === true && negotiated.serverMaxWindowBits === MAX_WINDOW_BITS
    ? compression
    : undefined;
}

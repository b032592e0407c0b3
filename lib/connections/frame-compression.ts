import { frameCompressedText } from '../internal/ws-deflate.js';
import { deflateMessage } from '../utils/raw-deflate.js';

/** Where compression is counted (RealtimeStats; `websocket_compress*` metrics read them). */
export interface CompressionCounters {
  /** Frames written compressed, one per recipient. */
  compressedFrames: number;
  /** Payload bytes deflated, once per deflate (a broadcast once, whatever its recipients). */
  compressionBytesIn: number;
  /** Bytes those deflates produced (the compressed payloads, without frame headers). */
  compressionBytesOut: number;
}

/**
 * A node's `permessage-deflate` settings, shared by every connection that negotiated compatible
 * parameters (`connection.compression`; `undefined` on the others). Messages of at least
 * `threshold` bytes are sent deflated: a broadcast once for all its recipients, a reply or
 * direct frame for its one recipient (both through connections/frame-write.ts).
 */
export class FrameCompression {
  constructor(
    /** Payloads below this many bytes are sent as they are. */
    readonly threshold: number,
    /** zlib level, 1 (fastest) to 9 (smallest). */
    readonly level: number,
    /** The node's counters; `undefined` in unit tests that need none. */
    readonly counters?: CompressionCounters,
  ) {}

  /** The complete compressed text frame (RSV1 set) of `payload`: one deflate, counted. */
  frame(payload: Buffer): Buffer {
    const deflated = deflateMessage(payload, this.level);
    const counters = this.counters;
    if (counters !== undefined) {
      counters.compressionBytesIn += payload.length;
      counters.compressionBytesOut += deflated.length;
    }
    return frameCompressedText(deflated);
  }
}

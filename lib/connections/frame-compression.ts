import { frameCompressedText } from '../internal/ws-deflate.js';
import { deflateMessage } from '../utils/raw-deflate.js';

/**
 * A node's `permessage-deflate` settings, shared by every connection that negotiated compatible
 * parameters (`connection.compression`; `undefined` on the others). Messages of at least
 * `threshold` bytes are sent deflated: a broadcast once for all its recipients
 * (broadcast/deflated-frame.ts), a reply or direct frame for its one recipient.
 */
export class FrameCompression {
  constructor(
    /** Payloads below this many bytes are sent as they are. */
    readonly threshold: number,
    /** zlib level, 1 (fastest) to 9 (smallest). */
    readonly level: number,
  ) {}

  /** The complete compressed text frame (RSV1 set) of `payload`. */
  frame(payload: Buffer): Buffer {
    return frameCompressedText(deflateMessage(payload, this.level));
  }
}

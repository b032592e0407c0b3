/** RFC 6455 §5.5: a close frame's payload is at most 125 bytes, 2 of them the code. */
const MAX_CLOSE_REASON_BYTES = 123;

/**
 * `reason` cut to what a close frame can carry: at most 123 UTF-8 bytes, never splitting a
 * character. `ws` throws a RangeError for a longer reason (counted in bytes, not characters), so a
 * kick with a long non-ASCII reason would otherwise throw instead of closing the connection.
 */
export function fitCloseReason(reason: string): string {
  if (reason.length <= MAX_CLOSE_REASON_BYTES / 3 || Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) {
    return reason;
  }
  let bytes = 0;
  let end = 0;
  for (const char of reason) {
    bytes += Buffer.byteLength(char);
    if (bytes > MAX_CLOSE_REASON_BYTES) break;
    end += char.length;
  }
  return reason.slice(0, end);
}

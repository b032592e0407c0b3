import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Answers an upgrade request with a plain HTTP error and closes the socket: the client never
 * gets a WebSocket, and browsers surface the status to the application.
 */
export function abortHandshake(
  socket: Duplex,
  status: number,
  message = STATUS_CODES[status] ?? '',
  /** Extra header lines, each ending in CRLF (e.g. `Retry-After: 3\r\n`). */
  headers = '',
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = message;
  socket.on('error', () => socket.destroy());
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Connection: close\r\n' +
      headers +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
  );
}

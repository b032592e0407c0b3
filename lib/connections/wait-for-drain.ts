import { underlyingSocket } from '../internal/ws-internals.js';
import type { RealtimeConnection } from './realtime-connection.js';
import { writeHeldNow } from './write-batch.js';

/** How a wait for a connection's outbound buffer ended. */
export type DrainResult = 'drained' | 'closed' | 'timeout';

/**
 * Resolves once the connection's outbound buffer (`bufferedAmount`) is at most `below` bytes,
 * or when it closes, or after `timeout` ms. What paces a long write (a replay) to the reader's
 * speed instead of buffering all of it: the caller writes the next part only after this.
 */
export function waitForDrain(connection: RealtimeConnection, below: number, timeout: number): Promise<DrainResult> {
  const socket = connection.socket;
  if (socket.readyState !== 1) return Promise.resolve('closed');
  // Bytes the write batch holds are not the reader's backlog, and their write (below the TCP
  // socket's high-water mark) would bring no 'drain': out with them first.
  writeHeldNow(connection);
  if (socket.bufferedAmount <= below) return Promise.resolve('drained');
  // The TCP socket's 'drain' is when what ws handed it was written out.
  const raw = underlyingSocket(socket);
  if (raw === undefined) return Promise.resolve('drained');
  return new Promise<DrainResult>((resolve) => {
    const finish = (result: DrainResult): void => {
      clearTimeout(timer);
      raw.off('drain', onDrain);
      socket.off('close', onClose);
      resolve(result);
    };
    const onDrain = (): void => {
      if (socket.bufferedAmount <= below) finish('drained');
    };
    const onClose = (): void => finish('closed');
    const timer = setTimeout(() => finish('timeout'), timeout);
    raw.on('drain', onDrain);
    socket.on('close', onClose);
  });
}

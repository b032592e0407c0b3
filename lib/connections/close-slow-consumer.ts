import { Logger } from '@nestjs/common';
import { CloseCode } from '../protocol/close-codes.js';
import type { WebSocket } from 'ws';
import type { RealtimeStats } from '../stats/realtime-stats.js';

const logger = new Logger('RealtimeServer');

/** How long a slow consumer gets to read up to our close frame before the TCP connection is cut. */
export const SLOW_CONSUMER_GRACE_MS = 2000;

/**
 * What this needs of a connection. A structural type rather than `RealtimeConnection`, which
 * calls this function itself (past its outbound limit): the two files would import each other.
 */
export interface SlowConsumer {
  readonly id: string;
  readonly socket: WebSocket;
}

/**
 * Closes a reader whose outbound buffer overflowed with 1013 ("try again later") so that it
 * knows why and reconnects (and resumes). The close frame waits behind everything already
 * buffered, which such a reader may never get through; so the socket is terminated if it is
 * still open shortly after, instead of after `ws`'s 30-second close timeout. Idempotent.
 */
export function closeSlowConsumer(connection: SlowConsumer, stats: RealtimeStats | undefined): void {
  const socket = connection.socket;
  if (socket.readyState !== 1) return;
  if (stats) {
    stats.slowConsumerCloses++;
    stats.countServerClose(CloseCode.TRY_AGAIN_LATER);
  }
  logger.warn(
    `connection ${connection.id} is a slow consumer (${socket.bufferedAmount} bytes unsent): closing with 1013`,
  );
  socket.close(CloseCode.TRY_AGAIN_LATER, 'slow consumer');
  setTimeout(() => {
    if (socket.readyState !== 3) socket.terminate();
  }, SLOW_CONSUMER_GRACE_MS).unref();
}

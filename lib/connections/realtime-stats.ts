import { Injectable } from '@nestjs/common';

/** Why an upgrade was refused before a connection existed. */
export type UpgradeRejection =
  | 'origin'
  | 'capacity'
  | 'handshake_timeout'
  | 'draining'
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'error'
  | 'user_limit'
  | 'address_limit';

/**
 * Running totals of this node (the original design's `ServerStats`). Plain counters, bumped on
 * the hot path; the metrics layer reads them.
 */
@Injectable()
export class RealtimeStats {
  totalConnections = 0;
  messagesReceived = 0;
  messagesSent = 0;
  bytesReceived = 0;
  /** Error frames sent (BAD_MESSAGE, UNKNOWN_TYPE, handler errors, ...). */
  messageErrors = 0;
  /** Upgrades refused, by reason. */
  readonly rejectedUpgrades: Record<UpgradeRejection, number> = {
    origin: 0,
    capacity: 0,
    handshake_timeout: 0,
    draining: 0,
    bad_request: 0,
    unauthorized: 0,
    forbidden: 0,
    error: 0,
    user_limit: 0,
    address_limit: 0,
  };
  /** Messages refused by the rate limiter. */
  rateLimited = 0;
  /** Readers closed with 1013 because their outbound buffer overflowed. */
  slowConsumerCloses = 0;
  /** Broadcast frames skipped for slow readers under the `drop` policy. */
  droppedFrames = 0;
  /** Broadcast frames replaced by a newer one of the same key under the `conflate` policy. */
  conflatedFrames = 0;
  /** Connections closed by the server, by close code. */
  readonly serverCloses = new Map<number, number>();

  countServerClose(code: number): void {
    this.serverCloses.set(code, (this.serverCloses.get(code) ?? 0) + 1);
  }
}

import { Injectable, type OnModuleDestroy } from '@nestjs/common';

// stats/ is a layer of its own, low in the order (ARCHITECTURE.md): every layer from connections/
// to dispatch/ bumps these counters, and metrics/ (which sits high, next to the module, because
// it also reads history budgets and Nest's Prometheus providers) only reads them when scraped.

/** Buckets of `websocket_message_latency_seconds` (seconds). */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

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
  | 'address_limit'
  /** `maxEventLoopDelay`: the node's event loop was running late. */
  | 'overloaded';

/** Label values for messages that never reached a handler's type. */
export const MessageLabel = {
  /** Not a valid envelope (BAD_MESSAGE). */
  INVALID: 'invalid',
  /** A valid envelope of a type no handler serves (UNKNOWN_TYPE). */
  UNKNOWN: 'unknown',
  /** Refused by the rate limiter before it was parsed. */
  RATE_LIMITED: 'rate_limited',
  /** A binary frame (closed with 1003). */
  BINARY: 'binary',
} as const;

/** The original design's `ServerStats`, as returned by `ConnectionManager.stats()`. */
export interface ServerStats {
  active_connections: number;
  total_connections: number;
  messages_received: number;
  messages_sent: number;
  bytes_received: number;
  errors: number;
  active_rooms: number;
}

/** Every RealtimeStats of a live module in this process: metrics sum over them. */
const LIVE = new Set<RealtimeStats>();

/**
 * Running totals of this node. Plain counters and small maps bumped on the hot path (a field
 * increment or a Map update, no allocation); the Prometheus metrics read them when scraped, so
 * metrics cost nothing per message beyond these increments.
 *
 * Label values are bounded by construction: message types are the app's registered types plus
 * the fixed {@link MessageLabel}s, never a string a client chose.
 */
@Injectable()
export class RealtimeStats implements OnModuleDestroy {
  activeConnections = 0;
  totalConnections = 0;
  activeRooms = 0;
  messagesReceived = 0;
  messagesSent = 0;
  bytesReceived = 0;
  /** Error frames sent (BAD_MESSAGE, UNKNOWN_TYPE, handler errors, ...). */
  messageErrors = 0;
  /** Inbound messages by type label. */
  readonly receivedByType = new Map<string, number>();
  /** Error frames by type label and code (key: `type\u0000code`). */
  readonly errorsByTypeAndCode = new Map<string, number>();
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
    overloaded: 0,
  };
  /** 'error' events of open sockets (protocol violations, resets). */
  socketErrors = 0;
  /** Messages refused by the rate limiter. */
  rateLimited = 0;
  /** Readers closed with 1013 because their outbound buffer overflowed. */
  slowConsumerCloses = 0;
  /** Connections terminated because a ping went unanswered for `pongTimeout`. */
  heartbeatTimeouts = 0;
  /** Broadcast frames skipped for slow readers under the `drop` policy. */
  droppedFrames = 0;
  /** Broadcast frames replaced by a newer one of the same key under the `conflate` policy. */
  conflatedFrames = 0;
  /** Frames written compressed (`permessage-deflate`), one per recipient: a reply or a member of a broadcast. */
  compressedFrames = 0;
  /** Payload bytes deflated, once per deflate: a broadcast once for all its compressing members. */
  compressionBytesIn = 0;
  /** Compressed bytes those deflates produced (without frame headers). */
  compressionBytesOut = 0;
  /** Connections closed by the server, by close code. */
  readonly serverCloses = new Map<number, number>();
  /** Every closed connection, by close code (as observed). */
  readonly closes = new Map<number, number>();
  /** Room operations, by `operation\u0000result`. */
  readonly roomOperations = new Map<string, number>();
  /** Rooms of `resume` requests, by outcome (`replayed`, `rejoined`, or the `resume_failed` reason). */
  readonly resumedRooms = new Map<string, number>();
  /** Frames sent from a room's history on `resume`. */
  replayedFrames = 0;
  /** Bytes of room history held on this node. */
  historyBytes = 0;
  /** History entries evicted before they aged out, by reason (`room_bytes`, `node_bytes`). */
  readonly historyEvicted = new Map<string, number>();
  /** Messages this node published to the cluster (room broadcasts, user messages, announcements, kicks). */
  clusterPublished = 0;
  /** Messages this node received from the cluster and delivered (or found nobody for). */
  clusterReceived = 0;
  /** Handler latency: count per bucket of {@link LATENCY_BUCKETS} (not cumulative), sum, count. */
  readonly latencyBuckets = new Float64Array(LATENCY_BUCKETS.length);
  latencySum = 0;
  latencyCount = 0;

  constructor() {
    LIVE.add(this);
  }

  /** The stats of every live module in this process (metrics are per process). */
  static live(): ReadonlySet<RealtimeStats> {
    return LIVE;
  }

  onModuleDestroy(): void {
    LIVE.delete(this);
  }

  countReceived(typeLabel: string, bytes: number): void {
    this.messagesReceived++;
    this.bytesReceived += bytes;
    this.receivedByType.set(typeLabel, (this.receivedByType.get(typeLabel) ?? 0) + 1);
  }

  countError(typeLabel: string, code: string): void {
    this.messageErrors++;
    const key = `${typeLabel}\u0000${code}`;
    this.errorsByTypeAndCode.set(key, (this.errorsByTypeAndCode.get(key) ?? 0) + 1);
  }

  countServerClose(code: number): void {
    this.serverCloses.set(code, (this.serverCloses.get(code) ?? 0) + 1);
  }

  /** Records one handler latency: a short loop over 11 bounds, no allocation. */
  observeLatency(seconds: number): void {
    this.latencySum += seconds;
    this.latencyCount++;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (seconds <= LATENCY_BUCKETS[i]) {
        this.latencyBuckets[i]++;
        return;
      }
    }
  }

  countClose(code: number): void {
    this.closes.set(code, (this.closes.get(code) ?? 0) + 1);
  }

  countRoomOperation(operation: 'join' | 'leave', result: string): void {
    const key = `${operation}\u0000${result}`;
    this.roomOperations.set(key, (this.roomOperations.get(key) ?? 0) + 1);
  }

  countHistoryEviction(reason: string, entries: number): void {
    this.historyEvicted.set(reason, (this.historyEvicted.get(reason) ?? 0) + entries);
  }

  countResumedRoom(result: string): void {
    this.resumedRooms.set(result, (this.resumedRooms.get(result) ?? 0) + 1);
  }

  snapshot(): ServerStats {
    return {
      active_connections: this.activeConnections,
      total_connections: this.totalConnections,
      messages_received: this.messagesReceived,
      messages_sent: this.messagesSent,
      bytes_received: this.bytesReceived,
      errors: this.messageErrors,
      active_rooms: this.activeRooms,
    };
  }
}

import type { Counter, Gauge } from 'prom-client';
import { LATENCY_BUCKETS, RealtimeStats } from '../stats/realtime-stats.js';
import { HISTORY_EVICTION_REASONS } from '../history/history-budget.js';

export { LATENCY_BUCKETS };

/**
 * The metrics of the original design, with their names, types, help texts and labels, plus what
 * operators of Socket.IO and Centrifugo look for. Counters and gauges are views over the live
 * {@link RealtimeStats} of the process, computed when Prometheus scrapes: the hot path only bumps
 * plain numbers. Only the latency histogram is observed per message.
 */
export const METRIC = {
  activeConnections: 'websocket_active_connections',
  totalConnections: 'websocket_total_connections',
  connectionErrors: 'websocket_connection_errors_total',
  messagesReceived: 'websocket_messages_received_total',
  messagesSent: 'websocket_messages_sent_total',
  messageErrors: 'websocket_message_errors_total',
  messageLatency: 'websocket_message_latency_seconds',
  activeRooms: 'websocket_active_rooms',
  roomOperations: 'websocket_room_operations_total',
  closes: 'websocket_closes_total',
  slowConsumerCloses: 'websocket_slow_consumer_closes_total',
  heartbeatTimeouts: 'websocket_heartbeat_timeouts_total',
  rateLimited: 'websocket_rate_limited_total',
  droppedFrames: 'websocket_dropped_frames_total',
  conflatedFrames: 'websocket_conflated_frames_total',
  resumedRooms: 'websocket_resumed_rooms_total',
  replayedMessages: 'websocket_replayed_messages_total',
  historyEvicted: 'websocket_history_evicted_total',
  historyBytes: 'websocket_history_bytes',
  clusterPublished: 'websocket_cluster_published_total',
  clusterReceived: 'websocket_cluster_received_total',
  compressedFrames: 'websocket_compressed_frames_total',
  compressionBytes: 'websocket_compression_bytes_total',
} as const;

/** Close codes reported as themselves; any other (a client's own 3000–4999 code) is `other`. */
const KNOWN_CLOSE_CODES = new Set([1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, 1012, 1013, 4001, 4003]);

type Stats = RealtimeStats;

function sum(read: (stats: Stats) => number): number {
  let total = 0;
  for (const stats of RealtimeStats.live()) total += read(stats);
  return total;
}

/** Sums map entries over the live stats, by key. */
function sumMaps<K>(read: (stats: Stats) => ReadonlyMap<K, number>): Map<K, number> {
  const totals = new Map<K, number>();
  for (const stats of RealtimeStats.live()) {
    for (const [key, value] of read(stats)) totals.set(key, (totals.get(key) ?? 0) + value);
  }
  return totals;
}

/** A counter without labels whose value is `read` summed over the live stats. */
function scalarCounter(name: string, help: string, read: (stats: Stats) => number) {
  return {
    name,
    help,
    collect(this: Counter<string>) {
      this.reset();
      this.inc(sum(read));
    },
  };
}

/** A gauge without labels whose value is `read` summed over the live stats. */
function scalarGauge(name: string, help: string, read: (stats: Stats) => number) {
  return {
    name,
    help,
    collect(this: Gauge<string>) {
      this.set(sum(read));
    },
  };
}

/** Option objects for willsoto's providers: name, help, labels and how to read the value. */
export const COUNTER_DEFINITIONS = [
  scalarCounter(METRIC.totalConnections, 'WebSocket connections accepted since start', (s) => s.totalConnections),
  {
    name: METRIC.connectionErrors,
    help: 'Upgrades refused (by reason) and socket errors of open connections (reason "socket")',
    labelNames: ['reason'],
    collect(this: Counter<string>) {
      this.reset();
      for (const stats of RealtimeStats.live()) {
        for (const [reason, count] of Object.entries(stats.rejectedUpgrades)) {
          if (count > 0) this.labels(reason).inc(count);
        }
        if (stats.socketErrors > 0) this.labels('socket').inc(stats.socketErrors);
      }
    },
  },
  {
    name: METRIC.messagesReceived,
    help: 'Messages received, by type (registered types; invalid, unknown, rate_limited, binary)',
    labelNames: ['type'],
    collect(this: Counter<string>) {
      this.reset();
      for (const [type, count] of sumMaps((s) => s.receivedByType)) this.labels(type).inc(count);
    },
  },
  scalarCounter(
    METRIC.messagesSent,
    'Frames sent to clients (replies, errors, broadcasts, one per recipient)',
    (s) => s.messagesSent,
  ),
  {
    name: METRIC.messageErrors,
    help: 'Error frames sent, by message type and error code',
    labelNames: ['type', 'code'],
    collect(this: Counter<string>) {
      this.reset();
      for (const [key, count] of sumMaps((s) => s.errorsByTypeAndCode)) {
        const [type, code] = key.split('\u0000');
        this.labels(type, code).inc(count);
      }
    },
  },
  {
    name: METRIC.roomOperations,
    help: 'Room joins and leaves, by operation and result',
    labelNames: ['operation', 'result'],
    collect(this: Counter<string>) {
      this.reset();
      for (const [key, count] of sumMaps((s) => s.roomOperations)) {
        const [operation, result] = key.split('\u0000');
        this.labels(operation, result).inc(count);
      }
    },
  },
  {
    name: METRIC.closes,
    help: 'Closed connections, by WebSocket close code',
    labelNames: ['code'],
    collect(this: Counter<string>) {
      this.reset();
      for (const [code, count] of sumMaps((s) => s.closes)) {
        this.labels(KNOWN_CLOSE_CODES.has(code) ? String(code) : 'other').inc(count);
      }
    },
  },
  scalarCounter(
    METRIC.slowConsumerCloses,
    'Connections closed with 1013 because they read too slowly',
    (s) => s.slowConsumerCloses,
  ),
  scalarCounter(
    METRIC.heartbeatTimeouts,
    'Connections terminated because a ping went unanswered for pongTimeout',
    (s) => s.heartbeatTimeouts,
  ),
  scalarCounter(METRIC.rateLimited, 'Messages refused by the per-connection rate limit', (s) => s.rateLimited),
  scalarCounter(
    METRIC.droppedFrames,
    'Broadcast frames skipped for slow readers (drop policy)',
    (s) => s.droppedFrames,
  ),
  scalarCounter(
    METRIC.conflatedFrames,
    'Broadcast frames replaced by a newer one for slow readers (conflate policy)',
    (s) => s.conflatedFrames,
  ),
  {
    name: METRIC.resumedRooms,
    help: 'Rooms of resume requests, by result: replayed, rejoined, or the resume_failed reason',
    labelNames: ['result'],
    collect(this: Counter<string>) {
      this.reset();
      for (const [result, count] of sumMaps((s) => s.resumedRooms)) this.labels(result).inc(count);
    },
  },
  scalarCounter(METRIC.replayedMessages, 'Room messages sent from history on resume', (s) => s.replayedFrames),
  {
    name: METRIC.historyEvicted,
    help: 'Room history entries evicted before they aged out, by reason: room_bytes (the room cap), node_bytes (the node budget)',
    labelNames: ['reason'],
    collect(this: Counter<string>) {
      this.reset();
      // Both reasons exist from the start (at 0), so rate() and alerts see a series before the
      // first eviction.
      for (const reason of HISTORY_EVICTION_REASONS) this.labels(reason).inc(0);
      for (const [reason, count] of sumMaps((s) => s.historyEvicted)) this.labels(reason).inc(count);
    },
  },
  scalarCounter(METRIC.clusterPublished, 'Messages published to the cluster by this node', (s) => s.clusterPublished),
  scalarCounter(METRIC.clusterReceived, 'Messages received from the cluster by this node', (s) => s.clusterReceived),
  // Frames per recipient, next to websocket_messages_sent_total (the share of frames that went
  // out compressed); bytes per deflate, the CPU's work: a broadcast deflated once for all its
  // compressing members counts its bytes once, so out/in is the compression ratio.
  scalarCounter(
    METRIC.compressedFrames,
    'Frames sent compressed (permessage-deflate), one per recipient like websocket_messages_sent_total; a broadcast is deflated once for all of them',
    (s) => s.compressedFrames,
  ),
  {
    name: METRIC.compressionBytes,
    help: 'Payload bytes deflated (stage "in") and the compressed bytes produced (stage "out"), once per deflate: a broadcast once, a reply per recipient; out/in is the ratio',
    labelNames: ['stage'],
    collect(this: Counter<string>) {
      this.reset();
      // Both stages from the start (at 0), like the eviction reasons.
      this.labels('in').inc(sum((s) => s.compressionBytesIn));
      this.labels('out').inc(sum((s) => s.compressionBytesOut));
    },
  },
];

/** Bucket, sum and count samples of the latency histogram, summed over the live stats. */
export function latencySamples(
  name: string,
): { labels: Record<string, string | number>; value: number; metricName: string }[] {
  const buckets = new Array<number>(LATENCY_BUCKETS.length).fill(0);
  let count = 0;
  let total = 0;
  for (const stats of RealtimeStats.live()) {
    stats.latencyBuckets.forEach((value, i) => (buckets[i] += value));
    count += stats.latencyCount;
    total += stats.latencySum;
  }
  let cumulative = 0;
  type Sample = { labels: Record<string, string | number>; value: number; metricName: string };
  const samples = LATENCY_BUCKETS.map((le, i): Sample => {
    cumulative += buckets[i];
    return { labels: { le }, value: cumulative, metricName: `${name}_bucket` };
  });
  samples.push({ labels: { le: '+Inf' }, value: count, metricName: `${name}_bucket` });
  samples.push({ labels: {}, value: total, metricName: `${name}_sum` });
  samples.push({ labels: {}, value: count, metricName: `${name}_count` });
  return samples;
}

export const GAUGE_DEFINITIONS = [
  scalarGauge(METRIC.activeConnections, 'Open WebSocket connections', (s) => s.activeConnections),
  scalarGauge(METRIC.activeRooms, 'Rooms with at least one member on this node', (s) => s.activeRooms),
  scalarGauge(METRIC.historyBytes, 'Bytes of room history held on this node (for resume)', (s) => s.historyBytes),
];

import { closeSlowConsumer } from '../connections/close-slow-consumer.js';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { RealtimeStats } from '../stats/realtime-stats.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import type { Envelope } from '../protocol/envelope.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import type { SlowConsumerPolicy } from '../options/room-settings.js';
import { isoNow } from '../utils/clock.js';
import { writeFrame } from '../connections/frame-write.js';
import { type OutboundFrame, prepareFrame } from './outbound-frame.js';

/** How often readers holding conflated frames are checked for room in their buffer. */
const CONFLATION_FLUSH_MS = 25;

/**
 * Fan-out: a broadcast is serialized once and framed once, and that same buffer is written to
 * every recipient, with no per-recipient closure, promise, header or copy.
 *
 * Each connection's outbound buffer is bounded by `writeBufferSize` (the socket's
 * `bufferedAmount`). A reader above it never slows anyone down; what happens to it depends on
 * the policy: `disconnect` closes it with 1013, `drop` skips the frame, `conflate` keeps only the
 * latest frame per key and sends those when the reader catches up.
 */
@Injectable()
export class BroadcastEngine implements OnModuleDestroy {
  /** Readers with conflated frames waiting for room in their buffer. */
  private readonly conflating = new Set<RealtimeConnection>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly stats: RealtimeStats,
  ) {}

  /** Stamps the timestamp, serializes an envelope and frames it, once for all its recipients. */
  serialize(envelope: Envelope): OutboundFrame {
    return prepareFrame(Buffer.from(this.stringify(envelope)));
  }

  /** Stamps the timestamp and serializes an envelope: the text of a frame that also goes to other nodes. */
  stringify(envelope: Envelope): string {
    envelope.timestamp = isoNow();
    return JSON.stringify(envelope);
  }

  /**
   * Writes `frame` to every recipient except `except`; returns how many got it now. Never
   * throws and never waits.
   */
  deliver(
    recipients: Iterable<RealtimeConnection>,
    frame: OutboundFrame,
    policy: SlowConsumerPolicy,
    except?: RealtimeConnection,
    conflationKey?: string,
    /** Recipients that are skipped here because their frames go through a replay gate. */
    gated?: ReadonlyMap<RealtimeConnection, unknown>,
  ): number {
    let delivered = 0;
    for (const connection of recipients) {
      if (connection === except || (gated !== undefined && gated.has(connection))) continue;
      if (this.deliverOne(connection, frame, policy, conflationKey)) delivered++;
    }
    this.stats.messagesSent += delivered;
    return delivered;
  }

  /** Writes one frame to one connection under a slow-consumer policy. */
  deliverOne(
    connection: RealtimeConnection,
    frame: OutboundFrame,
    policy: SlowConsumerPolicy,
    conflationKey?: string,
  ): boolean {
    const socket = connection.socket;
    if (socket.readyState !== 1) return false;
    if (socket.bufferedAmount > connection.outboundLimit) {
      this.slowReader(connection, frame, policy, conflationKey);
      return false;
    }
    // This turn's writes to the connection leave in one socket write (see WriteBatch).
    connection.batch?.hold(connection);
    if (connection.conflated !== undefined) this.flush(connection);
    writeFrame(connection, frame);
    return true;
  }

  private slowReader(
    connection: RealtimeConnection,
    frame: OutboundFrame,
    policy: SlowConsumerPolicy,
    key?: string,
  ): void {
    if (policy === 'drop') {
      this.stats.droppedFrames++;
    } else if (policy === 'conflate') {
      const frames = (connection.conflated ??= new Map());
      // Re-inserting moves the key to the end: frames flush in the order of their latest update.
      if (frames.delete(key ?? '')) this.stats.conflatedFrames++;
      frames.set(key ?? '', frame);
      this.conflating.add(connection);
      this.flushTimer ??= setInterval(() => this.flushConflated(), CONFLATION_FLUSH_MS).unref();
    } else {
      closeSlowConsumer(connection, this.stats);
    }
  }

  /** Sends a reader's conflated frames, oldest key first. */
  private flush(connection: RealtimeConnection): void {
    const frames = connection.conflated!;
    connection.conflated = undefined;
    this.conflating.delete(connection);
    for (const frame of frames.values()) writeFrame(connection, frame);
    this.stats.messagesSent += frames.size;
  }

  private flushConflated(): void {
    for (const connection of this.conflating) {
      const socket = connection.socket;
      if (socket.readyState !== 1) {
        connection.conflated = undefined;
        this.conflating.delete(connection);
      } else if (socket.bufferedAmount <= connection.outboundLimit) {
        connection.batch?.hold(connection);
        this.flush(connection);
      }
    }
    if (this.conflating.size === 0) {
      clearInterval(this.flushTimer);
      this.flushTimer = undefined;
    }
  }

  /** Readers currently holding conflated frames (for tests and leak checks). */
  get conflatingCount(): number {
    return this.conflating.size;
  }

  onModuleDestroy(): void {
    clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    for (const connection of this.conflating) connection.conflated = undefined;
    this.conflating.clear();
  }
}

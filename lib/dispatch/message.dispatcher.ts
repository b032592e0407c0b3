import { performance } from 'node:perf_hooks';
import { Inject, Injectable, IntrinsicException, Logger } from '@nestjs/common';
import { isObservable, lastValueFrom } from 'rxjs';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { MessageLabel, RealtimeStats } from '../stats/realtime-stats.js';
import { MessageHandlerRegistry, type RegisteredHandler } from '../discovery/message-handler.registry.js';
import { mapErrorToFrame } from '../errors/error-frame.mapper.js';
import { EventPublisher } from '../events/event.publisher.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { MessageLatency } from '../stats/message-latency.js';
import { decodeEnvelope, MalformedMessageError } from '../protocol/codec.js';
import type { Envelope } from '../protocol/envelope.js';
import { ErrorCode, ErrorFrameType } from '../protocol/error-codes.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { Messages } from '../realtime.messages.js';
import { ErrorLogBudget } from './error-log-budget.js';
import { Reply } from './reply.js';
import { InboundQueue } from '../connections/inbound-queue.js';
import type { RealtimeSpan } from '../tracing/realtime-span.js';
import { RealtimeTracing } from '../tracing/realtime-tracing.js';

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/**
 * Bookkeeping bytes charged per queued frame on top of its length, so that a flood of tiny
 * frames is bounded by `readBufferSize` too (each costs a Buffer and an array slot).
 */
const QUEUED_FRAME_OVERHEAD = 128;

/**
 * The per-message hot path: decode → route → invoke → reply. Synchronous results are answered in
 * the same tick, so a reply is never overtaken by a frame produced after it; asynchronous results
 * are answered when they settle. Everything thrown anywhere becomes a PROTOCOL.md error frame.
 *
 * A connection's messages are handled one at a time, in the order received (PROTOCOL.md,
 * "Ordering"): while a handler's promise is pending, the connection's later frames wait in its
 * inbox and are handled after the reply, so `auth`, `join_room` and `chat` sent back to back take
 * effect in that order. With nothing pending, a frame goes straight through (one boolean test).
 * Only handlers declared `concurrent` let later messages start before they settle.
 *
 * Handler latency is measured here, around the whole pipeline (guards, pipes, interceptors,
 * handler), rather than by an interceptor: an interceptor cannot see guard and pipe time, and
 * adding one to every handler would take them all off the direct-call path. The message's span
 * (RealtimeTracing) is made here for the same reason, and the pipeline runs with it active.
 */
@Injectable()
export class MessageDispatcher {
  private readonly logger = new Logger('RealtimeDispatcher');
  private readonly errorLogs = new ErrorLogBudget();
  private readonly readBufferSize: number;
  private readonly maxJsonDepth: number;

  constructor(
    private readonly registry: MessageHandlerRegistry,
    private readonly stats: RealtimeStats,
    private readonly events: EventPublisher,
    private readonly latency: MessageLatency,
    private readonly tracing: RealtimeTracing,
    @Inject(RESOLVED_REALTIME_OPTIONS) options: ResolvedRealtimeOptions,
  ) {
    this.readBufferSize = options.readBufferSize;
    this.maxJsonDepth = options.maxJsonDepth;
  }

  /**
   * Handles one inbound text frame, or queues it behind the connection's message still being
   * handled. Never throws.
   */
  dispatch(connection: RealtimeConnection, frame: Buffer): void {
    if (connection.handling) this.enqueue(connection, frame);
    else this.handle(connection, frame);
  }

  /** Forgets what a closed connection still had queued. */
  discard(connection: RealtimeConnection): void {
    connection.inbox?.clear();
    connection.inbox = undefined;
  }

  private enqueue(connection: RealtimeConnection, frame: Buffer): void {
    (connection.inbox ??= new InboundQueue()).push(frame);
    this.hold(connection, frame.length + QUEUED_FRAME_OVERHEAD);
  }

  /** Handles the queued frames until one of them is asynchronous again (or none is left). */
  private drain(connection: RealtimeConnection): void {
    const inbox = connection.inbox;
    if (inbox === undefined) return;
    try {
      while (!connection.handling) {
        const frame = inbox.shift();
        if (frame === undefined) break;
        this.release(connection, frame.length + QUEUED_FRAME_OVERHEAD);
        // A connection closing has no more side effects (as for frames `ws` emits while closing).
        if (!connection.isOpen) return this.discard(connection);
        this.handle(connection, frame);
      }
    } catch (error) {
      this.logger.error(
        'Unexpected error while handling a queued message',
        error instanceof Error ? error.stack : String(error),
      );
    }
  }

  private handle(connection: RealtimeConnection, frame: Buffer): void {
    let message: Envelope;
    try {
      message = decodeEnvelope(frame.toString(), this.maxJsonDepth);
    } catch (error) {
      const malformed = error as MalformedMessageError;
      this.stats.countReceived(MessageLabel.INVALID, frame.length);
      this.rejected(connection, undefined, ErrorCode.BAD_MESSAGE);
      this.sendError(connection, MessageLabel.INVALID, ErrorCode.BAD_MESSAGE, malformed.message, malformed.requestId);
      return;
    }
    const handler = this.registry.get(message.type);
    if (handler === undefined) {
      this.stats.countReceived(MessageLabel.UNKNOWN, frame.length);
      this.rejected(connection, message.type, ErrorCode.UNKNOWN_TYPE);
      this.sendError(
        connection,
        MessageLabel.UNKNOWN,
        ErrorCode.UNKNOWN_TYPE,
        `unknown message type "${message.type}"`,
        message.id,
      );
      return;
    }
    this.stats.countReceived(handler.type, frame.length);
    if (this.events.isObserved('message.received')) this.events.emit('message.received', { connection, message });
    const startedAt = this.latency.enabled ? performance.now() : 0;
    const span = this.tracing.message(handler.type, message, frame.length, connection.id, connection.userId);
    let result: unknown;
    try {
      result = span === undefined ? handler.invoke(connection, message) : span.run(handler.invoke, connection, message);
    } catch (error) {
      const code = this.fail(connection, message, handler, error);
      this.finish(startedAt, span, code, error);
      return;
    }
    if (isPromiseLike(result)) {
      this.await(connection, message, handler, result, frame.length, startedAt, span);
    } else if (isObservable(result)) {
      // Subscribed (which runs an interceptor's deferred handler) with the message's span active.
      const last =
        span === undefined
          ? lastValueFrom(result, { defaultValue: undefined })
          : span.run(() => lastValueFrom(result, { defaultValue: undefined }));
      this.await(connection, message, handler, last, frame.length, startedAt, span);
    } else {
      this.reply(connection, message, handler, result);
      this.finish(startedAt, span);
    }
  }

  /** The message was answered: its latency, and its span's end with the error code it got, if any. */
  private finish(startedAt: number, span: RealtimeSpan | undefined, code?: string, error?: unknown): void {
    if (startedAt !== 0) this.latency.observe((performance.now() - startedAt) / 1000);
    span?.handled(code, error);
  }

  private await(
    connection: RealtimeConnection,
    message: Envelope,
    handler: RegisteredHandler,
    pending: PromiseLike<unknown>,
    size: number,
    startedAt: number,
    span: RealtimeSpan | undefined,
  ): void {
    const ordered = !handler.concurrent;
    // The connection's later frames wait until this one's effects and reply are out.
    if (ordered) connection.handling = true;
    this.hold(connection, size);
    pending.then(
      (value) => {
        this.release(connection, size);
        this.reply(connection, message, handler, value);
        this.finish(startedAt, span);
        if (ordered) this.resume(connection);
      },
      (error: unknown) => {
        this.release(connection, size);
        const code = this.fail(connection, message, handler, error);
        this.finish(startedAt, span, code, error);
        if (ordered) this.resume(connection);
      },
    );
  }

  private resume(connection: RealtimeConnection): void {
    connection.handling = false;
    this.drain(connection);
  }

  /**
   * Inbound backpressure: while a connection's handlers and queue hold more than readBufferSize
   * bytes of messages, stop reading its socket so TCP slows the sender down.
   */
  private hold(connection: RealtimeConnection, bytes: number): void {
    connection.pendingInboundBytes += bytes;
    if (connection.pendingInboundBytes > this.readBufferSize && !connection.socket.isPaused) {
      connection.socket.pause();
    }
  }

  private release(connection: RealtimeConnection, bytes: number): void {
    connection.pendingInboundBytes -= bytes;
    if (connection.socket.isPaused && connection.pendingInboundBytes <= this.readBufferSize) {
      connection.socket.resume();
    }
  }

  private reply(connection: RealtimeConnection, message: Envelope, handler: RegisteredHandler, value: unknown): void {
    if (value === undefined) return;
    const isReply = value instanceof Reply;
    this.send(connection, handler.type, {
      type: isReply ? value.type : handler.reply,
      id: message.id,
      data: isReply ? value.data : value,
    });
  }

  /** Answers a message whose handling threw with its error frame; returns the frame's code. */
  private fail(connection: RealtimeConnection, message: Envelope, handler: RegisteredHandler, error: unknown): string {
    const mapped = mapErrorToFrame(error);
    this.rejected(connection, message.type, mapped.data.code);
    // Nest's pipeline already logged the Errors no filter handled, except HTTP exceptions (a
    // thrown 5xx) and non-Errors; log those and the direct path's errors here.
    if (mapped.internal && (handler.direct || !(error instanceof Error) || error instanceof IntrinsicException)) {
      this.logError(connection, Messages.handlerFailed(message.type), error);
    }
    this.stats.countError(handler.type, mapped.data.code);
    this.send(connection, handler.type, { type: mapped.frameType, id: message.id, data: mapped.data });
    return mapped.data.code;
  }

  private rejected(connection: RealtimeConnection, type: string | undefined, code: string): void {
    if (this.events.isObserved('message.rejected')) this.events.emit('message.rejected', { connection, type, code });
  }

  /** Logs an error a connection caused, within that connection's {@link ErrorLogBudget}. */
  private logError(connection: RealtimeConnection, text: string, error: unknown): void {
    const heldBack = this.errorLogs.take(connection);
    if (heldBack === undefined) return;
    const note = heldBack > 0 ? ` (${heldBack} more from connection ${connection.id} not logged)` : '';
    this.logger.error(`${text}${note}`, error instanceof Error ? error.stack : String(error));
  }

  /**
   * Sends an `error` frame (PROTOCOL.md, "Errors") for a message of `typeLabel` (a registered
   * type or a {@link MessageLabel}) and counts it.
   */
  sendError(connection: RealtimeConnection, typeLabel: string, code: string, text: string, id?: string | number): void {
    this.stats.countError(typeLabel, code);
    this.send(connection, typeLabel, { type: ErrorFrameType.ERROR, id, data: { code, message: text } });
  }

  /**
   * Sends a frame; a value that cannot be serialized (a BigInt, a cycle, nesting too deep for
   * JSON.stringify) becomes an `INTERNAL` error frame instead of an exception out of a socket
   * listener.
   */
  private send(connection: RealtimeConnection, typeLabel: string, envelope: Envelope): void {
    try {
      connection.send(envelope);
    } catch (error) {
      this.logError(connection, `A "${envelope.type}" frame could not be serialized`, error);
      this.stats.countError(typeLabel, ErrorCode.INTERNAL);
      connection.send({
        type: ErrorFrameType.ERROR,
        id: envelope.id,
        data: { code: ErrorCode.INTERNAL, message: 'internal error' },
      });
    }
  }
}

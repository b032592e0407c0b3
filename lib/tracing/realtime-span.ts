import type { Context, Span } from '@opentelemetry/api';
import type { OtelApi } from '../internal/otel-api.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { TraceCarrier } from './trace-carrier.js';
import { Attr, RESULT_OK } from './tracing-attributes.js';

/**
 * One span of ours, as the layers that make it use it: run code under it, carry its context to
 * other nodes, end it with what happened. Nothing of the OpenTelemetry types shows through, so
 * that the code that traces (and the typings of the package) does not need `@opentelemetry/api`.
 */
export class RealtimeSpan {
  /** @internal Made by RealtimeTracing (stripped from the typings, which must not name the API). */
  constructor(
    private readonly api: OtelApi,
    private readonly span: Span,
    /** The span's parent context with the span set in it: what code under it sees as active. */
    private readonly context: Context,
    private readonly carrier: TraceCarrier,
  ) {}

  /**
   * Calls `fn(...args)` with this span active, so that spans started under it — a room
   * broadcast's, or an app's own (a database call in a handler) — are its children, across
   * `await` too when the app registered a context manager (the Node SDK does).
   */
  run<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): R {
    return this.api.context.with(this.context, fn, undefined, ...args);
  }

  /** This span's context, serialized for a cluster publication, or `undefined` when none is to be carried. */
  header(): string | undefined {
    return this.carrier.serialize(this.context);
  }

  /**
   * Ends a message's span: `ok`, or the PROTOCOL.md error `code` its sender got (`error.type`).
   * Only `INTERNAL` is the server's fault: that span's status is ERROR with the exception
   * recorded; a refusal (`BAD_REQUEST`, `FORBIDDEN`…) is the answer working, as an HTTP 4xx is
   * not an error of a server span.
   */
  handled(code?: string, error?: unknown): void {
    if (code === undefined) {
      this.span.setAttribute(Attr.RESULT, RESULT_OK);
    } else {
      this.span.setAttribute(Attr.RESULT, code);
      this.span.setAttribute(Attr.ERROR_TYPE, code);
      if (code === ErrorCode.INTERNAL) this.fault(error);
    }
    this.span.end();
  }

  /** Ends a broadcast's span: its place in the room, and the connections of this node it was written to. */
  published(seq: number, epoch: string, delivered: number): void {
    this.span.setAttribute(Attr.SEQ, seq);
    this.span.setAttribute(Attr.EPOCH, epoch);
    this.span.setAttribute(Attr.DELIVERED, delivered);
    this.span.end();
  }

  /** Ends a delivery's span: the connections of this node the frame was written to. */
  delivered(count: number): void {
    this.span.setAttribute(Attr.DELIVERED, count);
    this.span.end();
  }

  /** Ends a span whose work threw. */
  failed(error: unknown): void {
    this.span.setAttribute(Attr.ERROR_TYPE, error instanceof Error ? error.name : typeof error);
    this.fault(error);
    this.span.end();
  }

  private fault(error: unknown): void {
    if (error instanceof Error) this.span.recordException(error);
    this.span.setStatus({ code: this.api.SpanStatusCode.ERROR });
  }
}

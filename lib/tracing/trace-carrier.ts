import type { Context, TextMapGetter } from '@opentelemetry/api';
import type { OtelApi } from '../internal/otel-api.js';
import { formatTraceParent, parseTraceParent } from './traceparent.js';

/** String keys to values: an envelope's `metadata`, or a publication's trace header. */
export type Carrier = Record<string, unknown>;

/** Reads string values only: a client may put anything in `metadata`. */
const STRING_GETTER: TextMapGetter<Carrier> = {
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === 'string' ? value : undefined;
  },
  keys: (carrier) => Object.keys(carrier),
};

/**
 * Moves a trace context in and out of carriers: a client's `metadata` (PROTOCOL.md,
 * `metadata.traceparent`) and the trace header of a cluster publication.
 *
 * With a propagator registered by the app (NodeSDK registers W3C trace context and baggage by
 * default), that propagator does it, so the app's choice holds here as in its HTTP
 * instrumentation: `baggage` travels too, and an app that propagates B3 reads B3 keys. With none
 * registered — an SDK set up with `trace.setGlobalTracerProvider()` alone, which is how
 * `@opentelemetry/sdk-trace-base` 2.x is used without the Node SDK — `traceparent` and
 * `tracestate` are still read and written (traceparent.ts), because the wire contract promises
 * them; otherwise the context would be dropped without a word.
 */
export class TraceCarrier {
  constructor(private readonly api: OtelApi) {}

  /** The context a carrier names (a remote parent span), or the root context. */
  extract(carrier: Carrier): Context {
    const root = this.api.ROOT_CONTEXT;
    if (this.propagatorRegistered()) return this.api.propagation.extract(root, carrier, STRING_GETTER);
    const traceparent = carrier.traceparent;
    if (typeof traceparent !== 'string') return root;
    const parent = parseTraceParent(traceparent);
    if (parent === undefined) return root;
    const tracestate = carrier.tracestate;
    // A literal rather than a spread: this runs per message, and the spread costs a microsecond.
    return this.api.trace.setSpanContext(root, {
      traceId: parent.traceId,
      spanId: parent.spanId,
      traceFlags: parent.traceFlags,
      isRemote: true,
      // Parsed (and bounded: 32 entries, 512 characters) by the API itself.
      traceState:
        typeof tracestate === 'string' && tracestate !== '' ? this.api.createTraceState(tracestate) : undefined,
    });
  }

  /** The context as a JSON object of strings, or `undefined` when there is nothing to carry. */
  serialize(context: Context): string | undefined {
    const carrier: Record<string, string> = {};
    if (this.propagatorRegistered()) {
      this.api.propagation.inject(context, carrier, this.api.defaultTextMapSetter);
    } else {
      const span = this.api.trace.getSpanContext(context);
      if (span === undefined || !this.api.trace.isSpanContextValid(span)) return undefined;
      carrier.traceparent = formatTraceParent(span.traceId, span.spanId, span.traceFlags);
      const state = span.traceState?.serialize();
      if (state) carrier.tracestate = state;
    }
    for (const key in carrier) if (typeof carrier[key] === 'string') return JSON.stringify(carrier);
    return undefined;
  }

  /**
   * The context of a {@link serialize}d header with a valid span in it, or `undefined` for
   * anything else (a header is data from the network: it is never trusted to be well formed).
   */
  deserialize(header: string): Context | undefined {
    let carrier: unknown;
    try {
      carrier = JSON.parse(header);
    } catch {
      return undefined;
    }
    if (typeof carrier !== 'object' || carrier === null || Array.isArray(carrier)) return undefined;
    const context = this.extract(carrier as Carrier);
    const span = this.api.trace.getSpanContext(context);
    return span !== undefined && this.api.trace.isSpanContextValid(span) ? context : undefined;
  }

  /** Whether the app registered a propagator (the API's default one propagates nothing). */
  private propagatorRegistered(): boolean {
    return this.api.propagation.fields().length > 0;
  }
}

import { afterEach, beforeEach } from '@jest/globals';
import { context, propagation, SpanKind, trace, type TextMapPropagator } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  type Sampler,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** The spans a test's SDK exported, and helpers to find the ones of the module. */
export interface TracingSdk {
  /** Every ended span, in the order they ended. */
  spans(): ReadableSpan[];
  /** The ended spans with this name. */
  named(name: string): ReadableSpan[];
  /** Registers the SDK (done before each test unless `registered: false`). */
  register(): void;
  /** Unregisters the SDK (the API stays: spans become no-ops). */
  unregister(): void;
}

/**
 * An OpenTelemetry SDK as an app registers one, exporting to memory: a tracer provider with a
 * simple (synchronous) span processor, and Node's AsyncLocalStorage context manager, so that a
 * span active in a handler stays active across its `await`s. `propagator`: registered too (the
 * Node SDK registers W3C trace context); without it the module's own traceparent handling runs.
 * `sampler`: the SDK's (default: always on, parent-based).
 * Everything global is removed after each test.
 */
export function useTracingSdk(
  options: { propagator?: TextMapPropagator; registered?: boolean; sampler?: Sampler } = {},
): TracingSdk {
  // One per test: shutting a provider down stops its exporter for good.
  let exporter = new InMemorySpanExporter();
  let provider: BasicTracerProvider | undefined;
  const sdk: TracingSdk = {
    spans: () => exporter.getFinishedSpans(),
    named: (name) => exporter.getFinishedSpans().filter((span) => span.name === name),
    register() {
      provider = new BasicTracerProvider({
        spanProcessors: [new SimpleSpanProcessor(exporter)],
        ...(options.sampler && { sampler: options.sampler }),
      });
      trace.setGlobalTracerProvider(provider);
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      if (options.propagator) propagation.setGlobalPropagator(options.propagator);
    },
    unregister() {
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
  beforeEach(() => {
    exporter = new InMemorySpanExporter();
    if (options.registered !== false) sdk.register();
  });
  afterEach(async () => {
    sdk.unregister();
    await provider?.shutdown();
    provider = undefined;
  });
  return sdk;
}

/** The `traceparent` of a span context a client would send (sampled). */
export function traceparent(traceId: string, spanId: string, flags = '01'): string {
  return `00-${traceId}-${spanId}-${flags}`;
}

/** A random W3C id of `bytes` bytes, in lowercase hex. */
export function randomId(bytes: 16 | 8): string {
  let id = '';
  for (let i = 0; i < bytes; i++)
    id += Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0');
  return id;
}

/** The id of a span's parent (sdk-trace-base 2.x names it in `parentSpanContext`). */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

export { SpanKind };

/**
 * The W3C Trace Context `traceparent` value (https://www.w3.org/TR/trace-context/#traceparent-header):
 * `version-traceid-parentid-flags`, lowercase hex, e.g.
 * `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01`.
 *
 * Our own parse and format, used when the app registered no propagator (an SDK set up with
 * `trace.setGlobalTracerProvider()` alone has none, and `metadata.traceparent` must still
 * continue the client's trace, as PROTOCOL.md says). It accepts exactly what
 * `@opentelemetry/core`'s `W3CTraceContextPropagator` accepts — the library does not depend on
 * that package, and `test/unit/tracing/traceparent.spec.ts` compares the two.
 */

/** What a `traceparent` carries. */
export interface TraceParent {
  /** 32 lowercase hex digits, not all zero. */
  traceId: string;
  /** 16 lowercase hex digits, not all zero: the id of the span this continues. */
  spanId: string;
  /** The flags byte (bit 0: sampled). */
  traceFlags: number;
}

/**
 * Version `ff` is invalid; ids of all zeros are invalid; a later version may append fields after
 * a dash (which version 00 may not). One optional blank around it is tolerated, like an HTTP
 * header's.
 */
const TRACE_PARENT = /^\s?((?!ff)[\da-f]{2})-((?![0]{32})[\da-f]{32})-((?![0]{16})[\da-f]{16})-([\da-f]{2})(-.*)?\s?$/;

/** A `traceparent` value taken apart, or `undefined` when it is not a valid one. */
export function parseTraceParent(value: string): TraceParent | undefined {
  const match = TRACE_PARENT.exec(value);
  if (match === null || (match[1] === '00' && match[5] !== undefined)) return undefined;
  return { traceId: match[2], spanId: match[3], traceFlags: parseInt(match[4], 16) };
}

/** The version-00 `traceparent` of a span. */
export function formatTraceParent(traceId: string, spanId: string, traceFlags: number): string {
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

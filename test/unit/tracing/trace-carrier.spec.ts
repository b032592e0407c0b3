import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as api from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { TraceCarrier } from '../../../lib/tracing/trace-carrier.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

const carrier = new TraceCarrier(api);
const spanOf = (context: api.Context) => api.trace.getSpanContext(context);

/** Both ways a carrier can work: the module's own W3C handling, and the app's registered propagator. */
describe.each([
  ['without a registered propagator', undefined],
  ['with a registered W3C propagator', new W3CTraceContextPropagator()],
])('TraceCarrier %s', (_label, propagator) => {
  usePropagator(propagator);

  it('reads traceparent and tracestate from a client metadata object as a remote parent', () => {
    const span = spanOf(
      carrier.extract({ traceparent: TRACEPARENT, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE' }),
    );
    expect(span).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true });
    expect(span?.traceState?.get('congo')).toBe('t61rcWkgMzE');
  });

  it('reads nothing from what is not a valid string traceparent', () => {
    for (const metadata of [
      {},
      { traceparent: 1 },
      { traceparent: ['x'] },
      { traceparent: 'nope' },
      { other: TRACEPARENT },
    ]) {
      expect(spanOf(carrier.extract(metadata))).toBeUndefined();
    }
  });

  it('serializes a context to a one-line JSON header that deserializes to the same span context', () => {
    const context = api.trace.setSpanContext(api.ROOT_CONTEXT, {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: 0,
      traceState: api.createTraceState('vendor=v1'),
    });
    const header = carrier.serialize(context)!;
    expect(JSON.parse(header)).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-00`, tracestate: 'vendor=v1' });
    expect(header).not.toContain('\n');
    const back = spanOf(carrier.deserialize(header)!);
    // Not sampled stays not sampled on the other node.
    expect(back).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 0, isRemote: true });
    expect(back?.traceState?.serialize()).toBe('vendor=v1');
  });

  it('has nothing to carry without a valid span, and takes no malformed header for a context', () => {
    expect(carrier.serialize(api.ROOT_CONTEXT)).toBeUndefined();
    for (const header of ['', '{', 'null', '[]', '"x"', '{"traceparent":5}', '{"traceparent":"00-zz"}']) {
      expect(carrier.deserialize(header)).toBeUndefined();
    }
  });
});

describe('TraceCarrier with the Node SDK default propagators (trace context and baggage)', () => {
  usePropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );

  it('carries baggage across nodes too', () => {
    let context = api.trace.setSpanContext(api.ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 });
    context = api.propagation.setBaggage(context, api.propagation.createBaggage({ tenant: { value: 'acme' } }));
    const back = carrier.deserialize(carrier.serialize(context)!)!;
    expect(spanOf(back)?.traceId).toBe(TRACE_ID);
    expect(api.propagation.getBaggage(back)?.getEntry('tenant')?.value).toBe('acme');
  });
});

/** Registers a global propagator for the enclosing describe's tests (registration is global). */
function usePropagator(propagator: api.TextMapPropagator | undefined): void {
  if (propagator === undefined) return;
  beforeAll(() => {
    api.propagation.setGlobalPropagator(propagator);
  });
  afterAll(() => api.propagation.disable());
}

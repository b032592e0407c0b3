import { describe, expect, it } from '@jest/globals';
import { parseTraceParent as coreParseTraceParent } from '@opentelemetry/core';
import fc from 'fast-check';
import { formatTraceParent, parseTraceParent } from '../../../lib/tracing/traceparent.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

/**
 * The module's own `traceparent` handling (used when the app registered no propagator) accepts
 * what `@opentelemetry/core`'s W3C propagator accepts, no more and no less: the same client
 * header continues the same trace whichever way the app set OpenTelemetry up.
 */
describe('traceparent (lib/tracing/traceparent.ts)', () => {
  it.each([
    [`00-${TRACE_ID}-${SPAN_ID}-01`, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 }],
    [`00-${TRACE_ID}-${SPAN_ID}-00`, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 0 }],
    // A later version may append fields; its known ones are read.
    [`cc-${TRACE_ID}-${SPAN_ID}-09-what-the-future-holds`, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 9 }],
  ])('reads %s', (value, expected) => {
    expect(parseTraceParent(value)).toEqual(expected);
  });

  it.each([
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['version 00 with more fields', `00-${TRACE_ID}-${SPAN_ID}-01-extra`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['an all-zero span id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ['a short trace id', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ['a missing field', `00-${TRACE_ID}-${SPAN_ID}`],
    ['another separator', `00_${TRACE_ID}_${SPAN_ID}_01`],
    ['nothing', ''],
  ])('refuses %s', (_label, value) => {
    expect(parseTraceParent(value)).toBeUndefined();
    expect(coreParseTraceParent(value)).toBeNull();
  });

  it('formats version 00 with two flag digits, and reads back what it wrote', () => {
    expect(formatTraceParent(TRACE_ID, SPAN_ID, 1)).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`);
    expect(formatTraceParent(TRACE_ID, SPAN_ID, 0x1f)).toBe(`00-${TRACE_ID}-${SPAN_ID}-1f`);
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9a-f]{32}$/),
        fc.stringMatching(/^[0-9a-f]{16}$/),
        fc.integer({ min: 0, max: 255 }),
        (traceId, spanId, traceFlags) => {
          const parsed = parseTraceParent(formatTraceParent(traceId, spanId, traceFlags));
          const valid = /[1-9a-f]/.test(traceId) && /[1-9a-f]/.test(spanId);
          expect(parsed).toEqual(valid ? { traceId, spanId, traceFlags } : undefined);
        },
      ),
    );
  });

  it("agrees with @opentelemetry/core's parser on near-valid values", () => {
    // Mostly well-formed fields, sometimes off by a case, a digit or all zeros.
    const lower = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`));
    const field = (length: number) =>
      fc.oneof(
        { weight: 12, arbitrary: lower(length) },
        { weight: 1, arbitrary: fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${length}}$`)) },
        { weight: 1, arbitrary: fc.stringMatching(new RegExp(`^[0-9a-f]{${length - 1}}$|^[0-9a-f]{${length + 1}}$`)) },
        { weight: 1, arbitrary: fc.constant('0'.repeat(length)) },
      );
    const blank = fc.constantFrom('', '', '', ' ', '\t', '  ');
    const candidate = fc
      .tuple(
        blank,
        fc.oneof(fc.constantFrom('00', '00', '01', 'cc', 'ff', 'FF', '0'), field(2)),
        fc.constantFrom('-', '-', '-', '_'),
        field(32),
        fc.constantFrom('-', '-', '-', ':'),
        field(16),
        fc.constantFrom('-', '-', '-', '.'),
        field(2),
        fc.oneof(
          { weight: 4, arbitrary: fc.constant('') },
          { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map((tail) => `-${tail}`) },
          { weight: 1, arbitrary: fc.string({ maxLength: 3 }) },
        ),
        blank,
      )
      .map((parts) => parts.join(''));
    let accepted = 0;
    fc.assert(
      fc.property(candidate, (value) => {
        const expected = coreParseTraceParent(value) ?? undefined;
        if (expected !== undefined) accepted++;
        expect(parseTraceParent(value)).toEqual(expected);
      }),
      { numRuns: 5000 },
    );
    // Both outcomes were compared many times.
    expect(accepted).toBeGreaterThan(200);
    expect(accepted).toBeLessThan(4500);
  });
});

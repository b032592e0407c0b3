import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decodeEnvelope, MalformedMessageError } from '../../../lib/protocol/codec.js';
import { exceedsJsonDepth } from '../../../lib/protocol/json-depth.js';

/** Nesting depth of a parsed JSON value, the slow and obvious way (a scalar is 0). */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce<number>((deepest, child) => Math.max(deepest, depthOf(child)), 0);
}

describe('exceedsJsonDepth', () => {
  it.each([
    ['{}', 1, false],
    ['{}', 0, true],
    ['{"a":[{"b":[]}]}', 4, false],
    ['{"a":[{"b":[]}]}', 3, true],
    // Brackets and escaped quotes inside strings do not count.
    ['{"a":"[[[[{{{{"}', 1, false],
    ['{"a":"\\"[[[[","b":1}', 1, false],
    // An escaped backslash before a quote ends the string: the bracket after it counts.
    ['{"a":"\\\\","b":[[]]}', 2, true],
    ['[1,[2,[3]],[4]]', 3, false],
    ['[1,[2,[3]],[4]]', 2, true],
  ])('%s deeper than %d: %s', (text, maxDepth, expected) => {
    expect(exceedsJsonDepth(text, maxDepth)).toBe(expected);
  });

  it('agrees with the depth of the parsed value for any JSON text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json({ maxDepth: 8 }),
          fc.jsonValue({ maxDepth: 8 }).map((v) => JSON.stringify(v, null, 1)),
        ),
        fc.integer({ min: 0, max: 9 }),
        (text, maxDepth) => {
          expect(exceedsJsonDepth(text, maxDepth)).toBe(depthOf(JSON.parse(text)) > maxDepth);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('skips long strings full of quotes, backslashes and brackets exactly (the indexOf path)', () => {
    const tricky = fc.string({ maxLength: 300, unit: fc.constantFrom('a', '"', '\\', '[', '{', ']', '}', ' ') });
    fc.assert(
      fc.property(
        fc.array(fc.oneof(tricky, fc.array(tricky, { maxLength: 3 })), { maxLength: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (values, maxDepth) => {
          const text = JSON.stringify({ type: 'echo', data: values });
          expect(exceedsJsonDepth(text, maxDepth)).toBe(depthOf(JSON.parse(text)) > maxDepth);
        },
      ),
      { numRuns: 2000 },
    );
    const escapedQuotes = JSON.stringify({ a: '"'.repeat(5000), b: '\\'.repeat(5000), c: [[[]]] });
    expect(exceedsJsonDepth(escapedQuotes, 3)).toBe(true);
    expect(exceedsJsonDepth(escapedQuotes, 4)).toBe(false);
  });

  it('stops at the first level too deep, and lets an unterminated string through to JSON.parse', () => {
    expect(exceedsJsonDepth('['.repeat(33) + 'not even JSON', 32)).toBe(true);
    expect(exceedsJsonDepth('{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[', 32)).toBe(false);
  });
});

describe('decodeEnvelope with a depth limit', () => {
  const nested = (levels: number) => `{"type":"echo","data":${'['.repeat(levels)}${']'.repeat(levels)}}`;

  it('accepts an envelope exactly maxDepth deep and refuses one level more as malformed', () => {
    expect(decodeEnvelope(nested(31), 32).type).toBe('echo');
    let thrown: unknown;
    try {
      decodeEnvelope(nested(32), 32);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(MalformedMessageError);
    expect((thrown as Error).message).toBe('message nests deeper than 32 levels');
  });
});

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decodeEnvelope, MalformedMessageError } from '../../../lib/protocol/codec.js';
import { MAX_ID_LENGTH } from '../../../lib/protocol/envelope.js';
import { frameText, nested, NUMBER_EDGES, PROTOTYPE_KEYS } from '../../support/fuzz-frames.js';

/** Runs per property; printed in the report of issue 14. */
const RUNS = 5000;

/**
 * What PROTOCOL.md ("Envelope") accepts, written from the page rather than from the codec, as the
 * oracle the decoder is compared with. `undefined` = a valid envelope, else whether the request id
 * was readable (so the BAD_MESSAGE frame carries it).
 */
function expectedVerdict(text: string): { valid: true } | { valid: false; id?: unknown } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { valid: false };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { valid: false };
  const envelope = value as Record<string, unknown>;
  const id = envelope.id;
  const idOk =
    id === undefined ||
    (typeof id === 'string' && id.length <= MAX_ID_LENGTH) ||
    (typeof id === 'number' && Number.isInteger(id) && Math.abs(id) <= Number.MAX_SAFE_INTEGER);
  if (!idOk) return { valid: false };
  const typeOk = typeof envelope.type === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(envelope.type);
  const optionalString = (field: unknown) => field === undefined || typeof field === 'string';
  const metadata = envelope.metadata;
  const metadataOk =
    metadata === undefined || (typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata));
  if (!typeOk || !optionalString(envelope.room) || !optionalString(envelope.to) || !metadataOk) {
    return { valid: false, id };
  }
  return { valid: true };
}

const prototypeSnapshot = () => ({
  object: Object.getOwnPropertyNames(Object.prototype).sort(),
  array: Object.getOwnPropertyNames(Array.prototype).sort(),
  objectProto: Object.getPrototypeOf(Object.prototype) as unknown,
});

/** Decodes, and returns what came out: the envelope or the error (anything else fails the test). */
function decode(text: string): { envelope?: object; error?: MalformedMessageError } {
  try {
    return { envelope: decodeEnvelope(text) };
  } catch (error) {
    // Never a TypeError, RangeError or anything but the error the dispatcher maps to BAD_MESSAGE.
    expect(error).toBeInstanceOf(MalformedMessageError);
    expect(typeof (error as Error).message).toBe('string');
    return { error: error as MalformedMessageError };
  }
}

describe('codec under fuzzing (issue 14)', () => {
  const before = prototypeSnapshot();

  it(`accepts exactly the envelopes of PROTOCOL.md and throws only MalformedMessageError (${RUNS} frames)`, () => {
    fc.assert(
      fc.property(frameText(), (text) => {
        const verdict = expectedVerdict(text);
        const { envelope, error } = decode(text);
        expect(envelope !== undefined).toBe(verdict.valid);
        if (!verdict.valid) expect(error!.requestId).toBe(verdict.id);
        if (envelope !== undefined) expect(Object.getPrototypeOf(envelope)).toBe(Object.prototype);
        // A `__proto__` key is an own property of the parsed object, never its prototype.
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
    expect(prototypeSnapshot()).toEqual(before);
  });

  it.each(PROTOTYPE_KEYS)('a "%s" key anywhere changes no prototype', (name) => {
    const payload = `{"polluted":true,"type":"x"}`;
    const texts = [
      `{"type":"chat",${JSON.stringify(name)}:${payload}}`,
      `{${JSON.stringify(name)}:${payload},"type":"chat","data":{${JSON.stringify(name)}:${payload}}}`,
      `{"type":"chat","metadata":{${JSON.stringify(name)}:${payload}},"data":[{${JSON.stringify(name)}:${payload}}]}`,
    ];
    for (const text of texts) {
      const { envelope } = decode(text);
      expect(envelope).toBeDefined();
      expect(Object.getPrototypeOf(envelope)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined();
    }
    expect(prototypeSnapshot()).toEqual(before);
  });

  it.each(NUMBER_EDGES)('an id of %s is accepted exactly when it is a safe integer', (literal) => {
    const value = JSON.parse(literal) as number;
    const { envelope, error } = decode(`{"type":"ping","id":${literal}}`);
    expect(envelope !== undefined).toBe(Number.isSafeInteger(value));
    if (error) expect(error.requestId).toBeUndefined();
  });

  it.each([
    ['type', 64, true],
    ['type', 65, false],
    ['id', 128, true],
    ['id', 129, false],
  ])('a %s of %i characters is valid: %s', (field, length, valid) => {
    const text = JSON.stringify({ type: 'ping', [field]: 'x'.repeat(length) });
    expect(decode(text).envelope !== undefined).toBe(valid);
  });

  it('answers huge strings in every field without throwing anything else (1 MiB each)', () => {
    const huge = JSON.stringify('é'.repeat(1 << 20));
    for (const field of ['type', 'id', 'room', 'to', 'data', 'metadata', huge]) {
      const text = field === huge ? `{${huge}:1,"type":"ping"}` : `{"type":"ping",${JSON.stringify(field)}:${huge}}`;
      const { envelope } = decode(text);
      expect(envelope !== undefined).toBe(expectedVerdict(text).valid);
    }
    expect(decode(huge).error?.message).toBe('message must be a JSON object');
  });

  // Depth is left to the frame size limit here (a depth cap in the decoder may come; then these
  // turn into BAD_MESSAGE, which the property still allows).
  it.each([1, 100, 10_000, 200_000])('answers data nested %i deep with an envelope or BAD_MESSAGE', (depth) => {
    for (const objects of [false, true]) {
      const inner = nested(depth, '1', objects);
      for (const text of [`{"type":"echo","data":${inner}}`, `{"type":"echo","metadata":{"m":${inner}}}`, inner]) {
        const { envelope, error } = decode(text);
        expect(envelope !== undefined || error !== undefined).toBe(true);
        if (text === inner) expect(envelope).toBeUndefined();
      }
    }
  });
});

import fc from 'fast-check';
import { BUILTIN_TYPES } from '../../lib/options/resolve-options.js';

/**
 * Arbitraries of inbound frame texts for the fuzz tests (issue 14): what a hostile or broken
 * client can put in a text frame. Frames are built as JSON *text*, not through JSON.stringify
 * of an object, so that they can hold what an object cannot: duplicate keys, `__proto__` as an
 * own key, number literals JSON.stringify never writes (`1e309`, `-0`, `9007199254740993`), and
 * nesting deeper than JSON.stringify's own limit.
 */

/** Keys that have broken JSON handlers elsewhere (prototype pollution, shadowed methods). */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'];

/** Number literals at the edges of what JSON.parse and Number.isSafeInteger disagree on. */
export const NUMBER_EDGES = [
  '0',
  '-0',
  '1',
  '-1',
  '1.5',
  '1e2', // 100: a safe integer written with an exponent
  '1.0',
  '9007199254740991',
  '-9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '123456789012345678901234567890',
  '1e308',
  '1e309', // Infinity after parsing
  '-1e309',
  '1e-400', // 0 after parsing
  '5e-324',
];

/** The envelope keys of PROTOCOL.md plus a few the server sets itself. */
const ENVELOPE_KEYS = ['type', 'id', 'to', 'room', 'data', 'timestamp', 'metadata', 'seq', 'epoch'];

/** The built-ins' data field names (with `BUILTIN_TYPES`: frames that often reach a real handler). */
const DATA_KEYS = ['room_id', 'content', 'token', 'target_user_id', 'session_id', 'rooms', 'seq', 'epoch'];

/** JSON text nested `depth` levels deep (arrays or objects), with `leaf` inside. */
export function nested(depth: number, leaf: string, objects: boolean): string {
  return objects ? '{"a":'.repeat(depth) + leaf + '}'.repeat(depth) : '['.repeat(depth) + leaf + ']'.repeat(depth);
}

/** A JSON object text from its entries, in order, duplicates kept. */
function objectText(entries: [string, string][]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
}

const key = (extra: string[]): fc.Arbitrary<string> =>
  fc.oneof(fc.constantFrom(...extra, ...PROTOTYPE_KEYS), fc.string({ maxLength: 8 }));

/** A JSON value text: any JSON, number edges, prototype keys, near-valid strings, deep nesting. */
function valueText(maxDepth: number): fc.Arbitrary<string> {
  const leaf = fc.oneof(
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: fc.constantFrom(...NUMBER_EDGES) },
    { weight: 2, arbitrary: fc.constantFrom(...BUILTIN_TYPES, ...PROTOTYPE_KEYS).map((s) => JSON.stringify(s)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)) },
    { weight: 1, arbitrary: fc.integer({ min: 60, max: 140 }).map((n) => JSON.stringify('x'.repeat(n))) },
  );
  const { tree } = fc.letrec<{ tree: string }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true, maxDepth: 3 },
      leaf,
      fc.array(fc.tuple(key(DATA_KEYS), tie('tree')), { maxLength: 5 }).map(objectText),
      fc.array(tie('tree'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
    ),
  }));
  return fc.oneof(
    { weight: 8, arbitrary: tree },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 1, max: maxDepth }), leaf, fc.boolean())
        .map(([depth, inner, objects]) => nested(depth, inner, objects)),
    },
  );
}

/** An object text shaped like an envelope: envelope keys (often valid), prototype keys, duplicates. */
export function envelopeText(options: { types?: string[]; maxDepth?: number } = {}): fc.Arbitrary<string> {
  const types = options.types ?? BUILTIN_TYPES;
  const value = valueText(options.maxDepth ?? 2000);
  const typeValue = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...types).map((t) => JSON.stringify(t)) },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,70}$/).map((t) => JSON.stringify(t)) },
    { weight: 1, arbitrary: value },
  );
  const idValue = fc.oneof(
    fc.string({ maxLength: 130 }).map((s) => JSON.stringify(s)),
    fc.constantFrom(...NUMBER_EDGES),
    fc.constant(JSON.stringify('i'.repeat(128))),
    fc.constant(JSON.stringify('i'.repeat(129))),
    value,
  );
  const entry = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.constant('type'), typeValue) },
    { weight: 2, arbitrary: fc.tuple(fc.constant('id'), idValue) },
    { weight: 4, arbitrary: fc.tuple(fc.constant('data'), value) },
    { weight: 4, arbitrary: fc.tuple(key(ENVELOPE_KEYS), value) },
  );
  return fc
    .tuple(fc.option(typeValue, { nil: undefined }), fc.array(entry, { maxLength: 6 }))
    .map(([type, entries]) => objectText(type === undefined ? entries : [['type', type], ...entries]));
}

/**
 * Any frame text: envelope-shaped objects most of the time, else arbitrary strings, arbitrary
 * JSON, arbitrary bytes read as UTF-8 or Latin-1, and truncated envelopes.
 */
export function frameText(options: { types?: string[]; maxDepth?: number } = {}): fc.Arbitrary<string> {
  const envelope = envelopeText(options);
  return fc.oneof(
    { weight: 6, arbitrary: envelope },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
    { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.uint8Array({ maxLength: 60 }), fc.boolean())
        .map(([bytes, utf8]) => Buffer.from(bytes).toString(utf8 ? 'utf8' : 'latin1')),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(envelope, fc.nat())
        .map(([text, cut]) => text.slice(0, text.length === 0 ? 0 : cut % text.length)),
    },
  );
}

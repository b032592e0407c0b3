import { describe, expect, it } from '@jest/globals';
import { createHmac, createSecretKey } from 'node:crypto';
import fc from 'fast-check';
import jsonwebtoken from 'jsonwebtoken';
import { HmacJwtVerifier, JwtRefusedError } from '../../../lib/auth/hmac-jwt.verifier.js';

const SECRET = 'hmac-verifier-secret-0123456789abcdef';
const KEY = createSecretKey(Buffer.from(SECRET));
const NOW = 1_800_000_000;

const b64 = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const sign = (input: string, alg: string, secret = SECRET): string =>
  createHmac(`sha${alg.slice(2)}`, secret)
    .update(input)
    .digest('base64url');

/** A time claim: absent, around NOW, or of a wrong type. */
const timeClaim = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: NOW - 5, max: NOW + 5 }),
  fc.double({ min: NOW - 3, max: NOW + 3, noNaN: true }),
  fc.constantFrom<unknown>('1800000000', null, true, [NOW + 10]),
);
const audClaim = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom<unknown>('app', 'other', ['x', 'app'], ['x'], 7, null),
);
const issClaim = fc.oneof(fc.constant(undefined), fc.constantFrom<unknown>('auth', 'evil', 1, null));

const headerArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ alg: fc.constantFrom('HS256', 'HS384', 'HS512'), typ: fc.constant('JWT') }) },
  fc.record(
    {
      alg: fc.constantFrom<unknown>('HS256', 'HS384', 'HS512', 'none', 'RS256', 'hs256', 256, undefined),
      typ: fc.constantFrom<unknown>('JWT', undefined, 'at+jwt'),
    },
    { requiredKeys: [] },
  ),
  fc.constantFrom<unknown>(0, 1, 'HS256', null, [], ['HS256'], 'not json'),
);
const payloadArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      user_id: fc.string({ maxLength: 6 }),
      exp: fc.integer({ min: NOW - 2, max: NOW + 60 }),
      nbf: fc.option(fc.integer({ min: NOW - 60, max: NOW + 2 }), { nil: undefined }),
      aud: fc.constantFrom<unknown>(undefined, 'app', ['x', 'app']),
      iss: fc.constantFrom<unknown>(undefined, 'auth'),
    }),
  },
  fc.record(
    {
      user_id: fc.string({ maxLength: 6 }),
      exp: timeClaim,
      nbf: timeClaim,
      aud: audClaim,
      iss: issClaim,
      __proto__: fc.constant({ admin: true }),
    },
    { requiredKeys: [] },
  ),
  fc.constantFrom<unknown>('null', 42, '"text"', [1, 2], 'not json {'),
);
/** How the signature part is made: right, with another secret or algorithm, empty, or mangled. */
const signatureArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant('right') },
  fc.constantFrom('wrong-secret', 'HS512', 'empty', 'padded', 'flipped', 'standard-b64'),
);

interface Options {
  algorithms: string[];
  issuer?: string;
  audience?: string;
  clockTolerance?: number;
}

const optionsArb: fc.Arbitrary<Options> = fc.record({
  algorithms: fc.subarray(['HS256', 'HS384', 'HS512'], { minLength: 1 }),
  issuer: fc.constantFrom(undefined, 'auth'),
  audience: fc.constantFrom(undefined, 'app'),
  clockTolerance: fc.constantFrom(undefined, 0, 2),
});

function token(header: unknown, payload: unknown, signature: string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const alg = typeof (header as { alg?: unknown })?.alg === 'string' ? (header as { alg: string }).alg : 'HS256';
  const hs = /^HS(256|384|512)$/.test(alg) ? alg : 'HS256';
  const right = sign(input, hs);
  switch (signature) {
    case 'right':
      return `${input}.${right}`;
    case 'wrong-secret':
      return `${input}.${sign(input, hs, 'another-secret')}`;
    case 'HS512':
      return `${input}.${sign(input, 'HS512')}`;
    case 'empty':
      return `${input}.`;
    case 'padded':
      return `${input}.${right}=`;
    case 'flipped':
      return `${input}.${right.slice(0, -1)}${right.endsWith('A') ? 'B' : 'A'}`;
    default:
      return `${input}.${Buffer.from(right, 'base64url').toString('base64')}`;
  }
}

type Outcome = { accepted: true; claims: unknown } | { accepted: false };

function jsonwebtokenSays(jwt: string, options: Options): Outcome {
  try {
    const claims = jsonwebtoken.verify(jwt, KEY, {
      algorithms: options.algorithms as jsonwebtoken.Algorithm[],
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: options.clockTolerance,
      clockTimestamp: NOW,
    });
    // The validator only takes a claims object; jsonwebtoken also returns strings and arrays.
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return { accepted: false };
    return { accepted: true, claims };
  } catch {
    return { accepted: false };
  }
}

function verifierSays(jwt: string, options: Options): Outcome {
  try {
    return { accepted: true, claims: new HmacJwtVerifier(KEY, options).verify(jwt, NOW) };
  } catch (error) {
    expect(error).toBeInstanceOf(JwtRefusedError);
    return { accepted: false };
  }
}

describe('HmacJwtVerifier', () => {
  it('decides every token as jsonwebtoken does (same options, same clock), and returns the same claims', () => {
    let accepted = 0;
    fc.assert(
      fc.property(headerArb, payloadArb, signatureArb, optionsArb, (header, payload, signature, options) => {
        const jwt = token(header, payload, signature);
        const expected = jsonwebtokenSays(jwt, options);
        if (expected.accepted) accepted++;
        expect(verifierSays(jwt, options)).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
    // The generators reach both outcomes often enough for the comparison to mean something.
    expect(accepted).toBeGreaterThan(100);
  });

  it('refuses arbitrary strings and mutations of a valid token as jsonwebtoken does', () => {
    const valid = token({ alg: 'HS256', typ: 'JWT' }, { user_id: 'ada', exp: NOW + 60 }, 'right');
    const options = { algorithms: ['HS256'] };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc
            .tuple(fc.nat({ max: valid.length - 1 }), fc.string({ maxLength: 2 }))
            .map(([at, insert]) => valid.slice(0, at) + insert + valid.slice(at + 1)),
        ),
        (jwt) => {
          expect(verifierSays(jwt, options)).toEqual(jsonwebtokenSays(jwt, options));
        },
      ),
      { numRuns: 2000 },
    );
    expect(verifierSays(valid, options)).toEqual({ accepted: true, claims: { user_id: 'ada', exp: NOW + 60 } });
  });

  it('verifies HMAC algorithms only, with a secret key', () => {
    expect(() => new HmacJwtVerifier(KEY, { algorithms: ['RS256'] })).toThrow(/HS256/);
    expect(() => new HmacJwtVerifier(KEY, { algorithms: [] })).toThrow(/HS256/);
    expect(HmacJwtVerifier.handles(['HS256', 'HS512'])).toBe(true);
    expect(HmacJwtVerifier.handles(['HS256', 'ES256'])).toBe(false);
  });
});

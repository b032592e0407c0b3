import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { createSecretKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import jsonwebtoken from 'jsonwebtoken';
import { JwtTokenValidator } from '../../../lib/auth/jwt-token.validator.js';
import type { RealtimeAuthOptions } from '../../../lib/interfaces/realtime-options.interface.js';
import { InvalidRealtimeOptionError, resolveRealtimeOptions } from '../../../lib/options/resolve-options.js';
import {
  TEST_SECRET,
  ecKeys,
  forgeToken,
  hmac,
  hsToken,
  nowSeconds,
  rsaKeys,
  signWithKey,
} from '../../support/tokens.js';

const validator = (auth: RealtimeAuthOptions): JwtTokenValidator =>
  new JwtTokenValidator(resolveRealtimeOptions({ auth }));

const ada = { user_id: 'ada', username: 'Ada' };
const rsa = rsaKeys();
const ec = ecKeys();

describe('JwtTokenValidator', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('with a secret', () => {
    const hs = validator({ secret: TEST_SECRET });

    it('accepts an HS256 token signed with the secret', () => {
      expect(hs.validate(hsToken(ada))).toMatchObject(ada);
    });

    it.each([
      ['a wrong secret', () => hsToken(ada, 'another-secret-0123456789abcdef')],
      ['an expired token', () => hsToken({ ...ada, exp: nowSeconds() - 10 })],
      ['a token not valid yet', () => hsToken({ ...ada, nbf: nowSeconds() + 60 })],
      ['alg none', () => forgeToken({ alg: 'none', typ: 'JWT' }, { ...ada, exp: nowSeconds() + 60 }, () => '')],
      [
        'HS512 (not in algorithms)',
        () => jsonwebtoken.sign({ ...ada, exp: nowSeconds() + 60 }, TEST_SECRET, { algorithm: 'HS512' }),
      ],
      ['an RS256 token', () => signWithKey(ada, rsa.privateKey, 'RS256')],
      ['a token without exp', () => forgeToken({ alg: 'HS256', typ: 'JWT' }, ada, (input) => hmac(TEST_SECRET, input))],
      [
        'a tampered payload',
        () => hsToken(ada).replace(/\.[^.]+\./, `.${Buffer.from('{"user_id":"eve"}').toString('base64url')}.`),
      ],
      ['garbage', () => 'not.a.token'],
    ])('refuses %s', (_, token) => {
      expect(() => hs.validate(token())).toThrow();
    });

    it('accepts the same tokens with the secret as a Buffer or a KeyObject', () => {
      const token = hsToken(ada);
      expect(validator({ secret: Buffer.from(TEST_SECRET) }).validate(token)).toMatchObject(ada);
      expect(validator({ secret: createSecretKey(Buffer.from(TEST_SECRET)) }).validate(token)).toMatchObject(ada);
      expect(() => validator({ secret: Buffer.from('wrong-secret') }).validate(token)).toThrow();
    });

    it('makes the key once and verifies HS256 with one HMAC of it, without jsonwebtoken', () => {
      const verify = jest.spyOn(jsonwebtoken, 'verify');
      const fresh = validator({ secret: TEST_SECRET });
      for (let i = 0; i < 3; i++)
        expect(fresh.validate(hsToken({ user_id: `u${i}` }))).toMatchObject({ user_id: `u${i}` });
      expect(verify).not.toHaveBeenCalled();
      const key = (fresh as unknown as { hmac: { key: KeyObject } }).hmac.key;
      expect(key).toBeInstanceOf(KeyObject);
      expect(key.type).toBe('secret');
    });

    it('refuses a PEM key given as the secret at start-up', () => {
      expect(() => validator({ secret: rsa.publicKey })).toThrow(InvalidRealtimeOptionError);
      expect(() => validator({ secret: rsa.publicKey })).toThrow(/auth\.secret.*publicKey/);
    });
  });

  describe.each([
    ['RS256', rsa],
    ['ES256', ec],
  ] as const)('with a public key, %s', (alg, keys) => {
    const pk = validator({ publicKey: keys.publicKey });

    it('accepts a token signed with the private key', () => {
      expect(pk.validate(signWithKey(ada, keys.privateKey, alg))).toMatchObject(ada);
    });

    it.each([
      [
        'an HS256 token "signed" with the public key (alg confusion)',
        () =>
          forgeToken({ alg: 'HS256', typ: 'JWT' }, { ...ada, exp: nowSeconds() + 60 }, (input) =>
            hmac(keys.publicKey, input),
          ),
      ],
      ['alg none', () => forgeToken({ alg: 'none', typ: 'JWT' }, { ...ada, exp: nowSeconds() + 60 }, () => '')],
      ['an expired token', () => signWithKey({ ...ada, exp: nowSeconds() - 10 }, keys.privateKey, alg)],
      [
        'a token signed with another key',
        () => signWithKey(ada, (alg === 'RS256' ? rsaKeys() : ecKeys()).privateKey, alg),
      ],
    ])('refuses %s', (_, token) => {
      expect(() => pk.validate(token())).toThrow();
    });

    it('makes the public key once', () => {
      const verify = jest.spyOn(jsonwebtoken, 'verify');
      const fresh = validator({ publicKey: Buffer.from(keys.publicKey) });
      fresh.validate(signWithKey(ada, keys.privateKey, alg));
      fresh.validate(signWithKey(ada, keys.privateKey, alg));
      const [first, second] = verify.mock.calls.map((call) => call[1]) as KeyObject[];
      expect(first).toBeInstanceOf(KeyObject);
      expect(first.type).toBe('public');
      expect(second).toBe(first);
    });
  });

  it('accepts a public KeyObject and refuses a private one', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const exported = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(validator({ publicKey }).validate(signWithKey(ada, exported, 'ES256'))).toMatchObject(ada);
    expect(() => validator({ publicKey: privateKey })).toThrow(/auth\.publicKey/);
    expect(() => validator({ secret: publicKey })).toThrow(/auth\.secret/);
  });

  it('refuses a public key that is not a key at start-up', () => {
    expect(() => validator({ publicKey: 'not a pem' })).toThrow(/auth\.publicKey/);
  });
});

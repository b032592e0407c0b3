import { createHmac, generateKeyPairSync } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';

export const TEST_SECRET = 'test-secret-with-enough-entropy-0123456789';

const b64 = (value: object | Buffer): string =>
  (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString('base64url');

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export interface TokenClaimsInput {
  user_id?: string | number;
  sub?: string | number;
  username?: string;
  roles?: string[] | string;
  exp?: number;
  nbf?: number;
  [key: string]: unknown;
}

/** An HS256 token signed with {@link TEST_SECRET} (or `secret`), valid for an hour by default. */
export function hsToken(claims: TokenClaimsInput, secret: string = TEST_SECRET): string {
  return new JwtService({ secret }).sign({ exp: nowSeconds() + 3600, ...claims });
}

/** A token assembled by hand, so tests can forge headers a library would refuse to produce. */
export function forgeToken(header: object, claims: object, sign: (input: string) => Buffer | string): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const signature = sign(input);
  return `${input}.${typeof signature === 'string' ? signature : signature.toString('base64url')}`;
}

export function hmac(key: string | Buffer, input: string): Buffer {
  return createHmac('sha256', key).update(input).digest();
}

/** An RSA key pair for RS256 tests. */
export function rsaKeys(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** An EC P-256 key pair for ES256 tests. */
export function ecKeys(): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

export function signWithKey(claims: TokenClaimsInput, privateKey: string, algorithm: 'RS256' | 'ES256'): string {
  return new JwtService({ privateKey, signOptions: { algorithm } }).sign({ exp: nowSeconds() + 3600, ...claims });
}

export { nowSeconds };

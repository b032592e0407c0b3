import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import type { RealtimeAuthOptions } from '../interfaces/realtime-options.interface.js';
import { InvalidRealtimeOptionError } from '../options/resolve-options.js';

/**
 * The verification key of the `auth` options, made once. jsonwebtoken accepts a string or Buffer
 * too, but then, on every `verify`, first tries to parse it as a PEM public key and only then makes
 * a secret key of it: ~0.4 ms a token for an HMAC secret, against ~10 µs with a `KeyObject` (issue
 * 12). The kind of key is fixed by the option it came from — a `secret` is always an HMAC key, a
 * `publicKey` always a public key — and jsonwebtoken refuses a token whose `alg` does not fit it.
 */
export function jwtVerificationKey(auth: Pick<RealtimeAuthOptions, 'secret' | 'publicKey'>): KeyObject {
  if (auth.secret !== undefined) {
    const { secret } = auth;
    if (secret instanceof KeyObject) {
      if (secret.type !== 'secret') {
        throw new InvalidRealtimeOptionError('auth.secret', `is a ${secret.type} KeyObject; pass it as "publicKey"`);
      }
      return secret;
    }
    // Given as `secret`, a PEM key would now be used as HMAC bytes, and anyone holding the public
    // key could sign HS256 tokens; jsonwebtoken read such a "secret" as a key and refused every
    // token. Refused here, once, rather than either.
    if (parsesAsKey(secret)) {
      throw new InvalidRealtimeOptionError('auth.secret', 'is a PEM key; pass a public key as "publicKey"');
    }
    return createSecretKey(typeof secret === 'string' ? Buffer.from(secret) : secret);
  }
  const { publicKey } = auth;
  if (publicKey instanceof KeyObject) {
    if (publicKey.type !== 'public') {
      throw new InvalidRealtimeOptionError(
        'auth.publicKey',
        `must be a public KeyObject (got a ${publicKey.type} one)`,
      );
    }
    return publicKey;
  }
  try {
    // A PEM public key or X.509 certificate; from a private key its public part (as jsonwebtoken did).
    return createPublicKey(publicKey as string | Buffer);
  } catch (error) {
    throw new InvalidRealtimeOptionError(
      'auth.publicKey',
      `is not a PEM public key or certificate (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}

function parsesAsKey(secret: string | Buffer): boolean {
  if (!secret.includes('-----BEGIN')) return false;
  try {
    createPublicKey(secret);
    return true;
  } catch {
    return false;
  }
}

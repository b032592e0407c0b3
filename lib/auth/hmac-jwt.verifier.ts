import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';

const HASH_OF: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

/** Three base64url parts, the first two non-empty (the shape jws accepts). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** What an HS-signed token is checked against (the subset of jsonwebtoken's options we use). */
export interface HmacJwtOptions {
  algorithms: readonly string[];
  issuer?: string;
  audience?: string;
  clockTolerance?: number;
}

/** A token refused by {@link HmacJwtVerifier}; the message says why (logged, never sent). */
export class JwtRefusedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'JwtRefusedError';
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isClaims(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Verifies HS256/384/512 tokens with one HMAC, making the same decisions as jsonwebtoken's
 * `verify` with the same options (a property test checks it against jsonwebtoken on random
 * tokens): the algorithm pinned by the options, a constant-time comparison of the canonical
 * base64url signature, then `nbf`, `exp` (with the clock tolerance), `aud` and `iss`.
 *
 * Why not jsonwebtoken itself on this path: it decodes each token twice, runs a regex over it and
 * copies its options, and @nestjs/jwt copies them again — about 50 µs a token where the HMAC
 * costs 10, the largest share of an authenticated connect (issue 12: reconnect herds). Only the
 * HMAC family is verified here; public keys still go through jsonwebtoken.
 */
export class HmacJwtVerifier {
  private readonly algorithms: readonly string[];

  constructor(
    private readonly key: KeyObject,
    private readonly options: HmacJwtOptions,
  ) {
    if (key.type !== 'secret') throw new TypeError('HmacJwtVerifier needs a secret KeyObject');
    if (!HmacJwtVerifier.handles(options.algorithms)) {
      throw new TypeError(`HmacJwtVerifier verifies HS256/384/512 only (got ${options.algorithms.join(', ')})`);
    }
    this.algorithms = [...options.algorithms];
  }

  /** True when `algorithms` can all be verified here. */
  static handles(algorithms: readonly string[]): boolean {
    return algorithms.length > 0 && algorithms.every((alg) => alg in HASH_OF);
  }

  /** The token's claims, or a {@link JwtRefusedError}. `now`: seconds since the epoch. */
  verify(token: string, now = Math.floor(Date.now() / 1000)): Record<string, unknown> {
    if (typeof token !== 'string' || !COMPACT_JWS.test(token)) throw new JwtRefusedError('jwt malformed');
    const headerEnd = token.indexOf('.');
    const payloadEnd = token.indexOf('.', headerEnd + 1);
    const header = parseJson(Buffer.from(token.slice(0, headerEnd), 'base64url').toString('latin1'));
    if (!isClaims(header)) throw new JwtRefusedError('invalid token header');
    const alg = header.alg;
    if (typeof alg !== 'string' || !this.algorithms.includes(alg)) throw new JwtRefusedError('invalid algorithm');
    const signature = token.slice(payloadEnd + 1);
    if (signature === '') throw new JwtRefusedError('jwt signature is required');
    const expected = createHmac(HASH_OF[alg], this.key).update(token.slice(0, payloadEnd)).digest('base64url');
    if (expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
      throw new JwtRefusedError('invalid signature');
    }
    const payload = parseJson(Buffer.from(token.slice(headerEnd + 1, payloadEnd), 'base64url').toString('utf8'));
    if (!isClaims(payload)) throw new JwtRefusedError('jwt payload is not a JSON object');
    this.checkClaims(payload, now);
    return payload;
  }

  private checkClaims(payload: Record<string, unknown>, now: number): void {
    const tolerance = this.options.clockTolerance || 0;
    const { nbf, exp } = payload;
    if (nbf !== undefined) {
      if (typeof nbf !== 'number') throw new JwtRefusedError('invalid nbf value');
      if (nbf > now + tolerance) throw new JwtRefusedError('jwt not active');
    }
    if (exp !== undefined) {
      if (typeof exp !== 'number') throw new JwtRefusedError('invalid exp value');
      if (now >= exp + tolerance) throw new JwtRefusedError('jwt expired');
    }
    const { audience, issuer } = this.options;
    if (audience) {
      const targets = Array.isArray(payload.aud) ? (payload.aud as unknown[]) : [payload.aud];
      if (!targets.includes(audience)) throw new JwtRefusedError(`jwt audience invalid. expected: ${audience}`);
    }
    if (issuer && payload.iss !== issuer) throw new JwtRefusedError(`jwt issuer invalid. expected: ${issuer}`);
  }
}

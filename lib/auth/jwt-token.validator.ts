import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { InvalidRealtimeOptionError } from '../options/resolve-options.js';
import type { TokenClaims } from '../interfaces/realtime-user.interface.js';
import { HmacJwtVerifier } from './hmac-jwt.verifier.js';
import { jwtVerificationKey } from './jwt-keys.js';
import { TokenValidator } from './token-validator.js';

/**
 * The default {@link TokenValidator}, with the algorithm list pinned by configuration — HS256 for
 * a secret, RS256/ES256 for a public key — so that `alg: none` and HS/RS confusion (an HMAC token
 * "signed" with the public key) are refused. The key is a `KeyObject` made once at construction:
 * a secret for `secret`, a public key for `publicKey`. HMAC tokens are checked by
 * {@link HmacJwtVerifier} (jsonwebtoken's decisions at a fifth of its cost); public-key tokens by
 * `@nestjs/jwt` (jsonwebtoken).
 */
@Injectable()
export class JwtTokenValidator extends TokenValidator {
  private readonly jwt: JwtService;
  private readonly hmac: HmacJwtVerifier | undefined;
  private readonly requireExpiration: boolean;

  constructor(@Inject(RESOLVED_REALTIME_OPTIONS) options: ResolvedRealtimeOptions) {
    super();
    const auth = options.auth;
    if (auth && auth.secret === undefined && auth.publicKey === undefined) {
      throw new InvalidRealtimeOptionError(
        'auth',
        'needs "secret" (HS256) or "publicKey" (RS256/ES256), or a custom tokenValidator',
      );
    }
    this.requireExpiration = auth?.requireExpiration ?? true;
    // Parsed once here, not by jsonwebtoken on every token (see jwtVerificationKey).
    const key = auth ? jwtVerificationKey(auth) : undefined;
    this.jwt = new JwtService({
      ...(key?.type === 'secret' ? { secret: key } : { publicKey: key }),
      verifyOptions: {
        algorithms: auth?.algorithms ? [...auth.algorithms] : undefined,
        issuer: auth?.issuer,
        audience: auth?.audience,
        clockTolerance: auth?.clockToleranceSeconds,
      },
    });
    const algorithms = auth?.algorithms ?? [];
    this.hmac =
      auth && key?.type === 'secret' && HmacJwtVerifier.handles(algorithms)
        ? new HmacJwtVerifier(key, {
            algorithms,
            issuer: auth.issuer,
            audience: auth.audience,
            clockTolerance: auth.clockToleranceSeconds,
          })
        : undefined;
  }

  validate(token: string): TokenClaims {
    const claims = this.hmac ? (this.hmac.verify(token) as TokenClaims) : this.jwt.verify<TokenClaims>(token);
    if (this.requireExpiration && typeof claims.exp !== 'number') {
      throw new Error('token has no exp claim');
    }
    return claims;
  }
}

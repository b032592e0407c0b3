import { JwtService } from '@nestjs/jwt';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';

/** Who a test client authenticates as. */
export interface TestUser {
  id: string;
  username?: string;
  roles?: string[];
}

/** Thrown when a test asks for a `user` but the app's tokens cannot be signed from its options. */
export class TestTokenUnavailableError extends Error {
  constructor() {
    super(
      'The app has no `auth.secret` to sign a test token with (RS256/ES256 or a custom tokenValidator): ' +
        'pass `token` instead of `user`.',
    );
    this.name = 'TestTokenUnavailableError';
  }
}

/** An HS256 token for `user`, signed with the app's own `auth.secret`, valid for `ttlSeconds`. */
export function signTestToken(options: ResolvedRealtimeOptions, user: TestUser, ttlSeconds = 3600): string {
  const secret = options.auth?.secret;
  if (secret === undefined) throw new TestTokenUnavailableError();
  const claims = {
    user_id: user.id,
    username: user.username ?? user.id,
    roles: user.roles ?? [],
    exp: Math.floor(Date.now() / 1000) + ttlSeconds,
  };
  const issuer = options.auth?.issuer;
  const audience = options.auth?.audience;
  // jsonwebtoken refuses `issuer: undefined`: only name the claims the app checks.
  return new JwtService({ secret }).sign(claims, {
    algorithm: 'HS256',
    ...(issuer !== undefined && { issuer }),
    ...(audience !== undefined && { audience }),
  });
}

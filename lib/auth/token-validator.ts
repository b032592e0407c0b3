import type { TokenClaims } from '../interfaces/realtime-user.interface.js';

/**
 * Turns a bearer token into claims, or throws. Replace the default (a `@nestjs/jwt` validator
 * configured by the `auth` option) by passing `tokenValidator: MyValidator` to
 * `RealtimeModule.forRoot()`; your class is created by Nest, with its dependencies injected.
 */
export abstract class TokenValidator {
  abstract validate(token: string): Promise<TokenClaims> | TokenClaims;
}

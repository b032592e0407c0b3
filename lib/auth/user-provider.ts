import type { RealtimeUser, TokenClaims } from '../interfaces/realtime-user.interface.js';

/**
 * Finds the user a validated token stands for. The default builds it from the claims
 * (`user_id` or `sub`, `username`, `roles`); a database-backed provider (`userProvider:
 * MyUsers`) can look the user up and return `undefined` for an unknown or disabled account.
 */
export abstract class UserProvider {
  abstract findUser(userId: string, claims: TokenClaims): Promise<RealtimeUser | undefined> | RealtimeUser | undefined;
}

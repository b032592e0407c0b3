/** The authenticated user of a connection. */
export interface RealtimeUser {
  id: string;
  username: string;
  roles: readonly string[];
}

/**
 * Claims of a validated token (PROTOCOL.md, "Tokens"), as a `UserProvider` gets them: whatever
 * the `TokenValidator` returned, with a numeric `user_id`/`sub` turned into its decimal string
 * and a single-string `roles` into a one-role list (see `readTokenClaims`).
 */
export interface TokenClaims {
  user_id?: string;
  sub?: string;
  username?: string;
  roles?: string[];
  /** Expiry, seconds since the epoch. */
  exp?: number;
  [claim: string]: unknown;
}

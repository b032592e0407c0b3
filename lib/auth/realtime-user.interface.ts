/** The authenticated user of a connection. */
export interface RealtimeUser {
  id: string;
  username: string;
  roles: readonly string[];
}

/** Claims of a validated token (PROTOCOL.md, "Tokens"). */
export interface TokenClaims {
  user_id?: string;
  sub?: string;
  username?: string;
  roles?: string[];
  /** Expiry, seconds since the epoch. */
  exp?: number;
  [claim: string]: unknown;
}

/** A token, or a function that fetches a fresh one (called on every (re)connect and before expiry). */
export type TokenOption = string | (() => string | Promise<string>);

/** Where the client's tokens come from. */
export class TokenSource {
  constructor(private token: TokenOption | undefined) {}

  /** True when there is a token at all (an anonymous client sends no `auth`). */
  get configured(): boolean {
    return this.token !== undefined;
  }

  /** True when a fresh token can be had (a provider function), not only the one given. */
  get canRefresh(): boolean {
    return typeof this.token === 'function';
  }

  /** Replaces the token or provider (`auth(token)`). */
  set(token: TokenOption): void {
    this.token = token;
  }

  /** The current token: the string, or what the provider returns now. */
  async get(): Promise<string | undefined> {
    const token = this.token;
    if (typeof token !== 'function') return token;
    const value = await token();
    if (typeof value !== 'string' || value === '') throw new TypeError('the token provider returned no token');
    return value;
  }
}

/**
 * The `exp` claim of a JWT in epoch milliseconds, or undefined. Read without verifying — only
 * to know when to fetch a fresh token; the server does the verifying.
 */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='))) as {
      exp?: unknown;
    };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

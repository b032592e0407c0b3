import type { TokenClaims } from '../interfaces/realtime-user.interface.js';

/**
 * A token whose signature checked out but whose claims do not say who the user is, or say it in
 * a shape we cannot read. The message names the claim and what is wrong with it; it is logged on
 * the server (debug) and never sent to the client.
 */
export class InvalidTokenClaimsError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidTokenClaimsError';
  }
}

/** Claims in the shape {@link UserProvider}s get, with the user id they stand for. */
export interface ReadTokenClaims {
  userId: string;
  claims: TokenClaims;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * A user id claim as a string: a non-empty string as it is, an integer as its decimal string
 * (`{ sub: 42 }`, as in Nest's authentication guide, is user `"42"`). Integers beyond 2^53 are
 * refused: JSON parsing has already rounded them, so they could name another user.
 */
function userIdClaim(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    if (value === '') throw new InvalidTokenClaimsError(`${name} is an empty string`);
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new InvalidTokenClaimsError(`${name} is a number that is not an integer below 2^53 (issue it as a string)`);
    }
    return String(value);
  }
  throw new InvalidTokenClaimsError(`${name} is ${kindOf(value)}, not a string or a number`);
}

function rolesClaim(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (!Array.isArray(value)) {
    throw new InvalidTokenClaimsError(`roles is not a string or array of strings (it is ${kindOf(value)})`);
  }
  const odd = value.findIndex((role) => typeof role !== 'string');
  if (odd !== -1) {
    throw new InvalidTokenClaimsError(`roles is not a string or array of strings (it holds ${kindOf(value[odd])})`);
  }
  return value as string[];
}

function usernameClaim(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  throw new InvalidTokenClaimsError(`username is ${kindOf(value)}, not a string`);
}

/**
 * Reads the claims a {@link TokenValidator} returned (PROTOCOL.md, "Tokens") as common issuers
 * produce them: `user_id` (preferred) or `sub` as a string or an integer, `roles` as an array of
 * strings or a single string, `username` a string. A claim that is absent or `null` is ignored;
 * one that is present in another shape refuses the token with an {@link InvalidTokenClaimsError}
 * saying which claim and why, rather than being quietly dropped.
 */
export function readTokenClaims(raw: unknown): ReadTokenClaims {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidTokenClaimsError(`the token's payload is ${kindOf(raw)}, not an object of claims`);
  }
  const input = raw as Record<string, unknown>;
  const userIdFromUserId = userIdClaim('user_id', input.user_id);
  const sub = userIdClaim('sub', input.sub);
  const userId = userIdFromUserId ?? sub;
  if (userId === undefined) throw new InvalidTokenClaimsError('the token has neither user_id nor sub');
  const claims: TokenClaims = { ...input };
  const read = {
    user_id: userIdFromUserId,
    sub,
    roles: rolesClaim(input.roles),
    username: usernameClaim(input.username),
  };
  for (const [name, value] of Object.entries(read)) {
    // `null` is read as absent, so a UserProvider only ever sees the documented types.
    if (value === undefined) delete claims[name];
    else claims[name] = value;
  }
  return { userId, claims };
}

import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Authenticator } from '../../../lib/auth/authenticator.js';
import { ClaimsUserProvider } from '../../../lib/auth/claims-user.provider.js';
import { InvalidTokenClaimsError, readTokenClaims } from '../../../lib/auth/token-claims.js';
import { TokenValidator } from '../../../lib/auth/token-validator.js';
import { AuthFailedException } from '../../../lib/errors/realtime.exception.js';
import type { ResolvedRealtimeOptions } from '../../../lib/interfaces/realtime-options.interface.js';

describe('readTokenClaims', () => {
  it('reads a numeric sub or user_id as its decimal string (Nest auth docs sign { sub: 42 })', () => {
    expect(readTokenClaims({ sub: 42, username: 'ann' })).toEqual({
      userId: '42',
      claims: { sub: '42', username: 'ann' },
    });
    expect(readTokenClaims({ user_id: 7, sub: 'other' }).userId).toBe('7');
    expect(readTokenClaims({ user_id: -3 }).userId).toBe('-3');
    expect(readTokenClaims({ sub: 0 }).userId).toBe('0');
  });

  it('prefers user_id over sub and keeps other claims', () => {
    expect(readTokenClaims({ user_id: 'u-1', sub: 'auth0|x', exp: 10, tenant: 't' })).toEqual({
      userId: 'u-1',
      claims: { user_id: 'u-1', sub: 'auth0|x', exp: 10, tenant: 't' },
    });
  });

  it('reads a single-string roles claim as a one-role list, and an empty string as none', () => {
    expect(readTokenClaims({ sub: 'a', roles: 'admin' }).claims.roles).toEqual(['admin']);
    expect(readTokenClaims({ sub: 'a', roles: '' }).claims.roles).toEqual([]);
    expect(readTokenClaims({ sub: 'a', roles: ['a', 'b'] }).claims.roles).toEqual(['a', 'b']);
  });

  it('reads null claims as absent', () => {
    expect(readTokenClaims({ user_id: null, sub: 's', roles: null, username: null })).toEqual({
      userId: 's',
      claims: { sub: 's' },
    });
  });

  it.each([
    [{}, 'the token has neither user_id nor sub'],
    [{ sub: null }, 'the token has neither user_id nor sub'],
    [{ sub: true }, 'sub is a boolean, not a string or a number'],
    [{ sub: { id: 1 } }, 'sub is an object, not a string or a number'],
    [{ user_id: ['u'] }, 'user_id is an array, not a string or a number'],
    [{ user_id: '' }, 'user_id is an empty string'],
    [{ sub: 1.5 }, 'sub is a number that is not an integer below 2^53 (issue it as a string)'],
    [{ sub: 2 ** 60 }, 'sub is a number that is not an integer below 2^53 (issue it as a string)'],
    [{ user_id: 'u', sub: false }, 'sub is a boolean, not a string or a number'],
    [{ sub: 'a', roles: 5 }, 'roles is not a string or array of strings (it is a number)'],
    [{ sub: 'a', roles: ['a', 1] }, 'roles is not a string or array of strings (it holds a number)'],
    [{ sub: 'a', username: 12 }, 'username is a number, not a string'],
    ['a string payload', "the token's payload is a string, not an object of claims"],
    [null, "the token's payload is null, not an object of claims"],
  ])('refuses %j saying why: %s', (raw, reason) => {
    expect(() => readTokenClaims(raw)).toThrow(new InvalidTokenClaimsError(reason));
  });
});

describe('Authenticator with claims as common issuers produce them', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  function authenticatorReturning(claims: unknown): Authenticator {
    class StubValidator extends TokenValidator {
      validate(): never {
        return claims as never;
      }
    }
    const options = { auth: { secret: 's' } } as unknown as ResolvedRealtimeOptions;
    return new Authenticator(
      options,
      new StubValidator(),
      new ClaimsUserProvider(),
      {} as never,
      {} as never,
      {} as never,
    );
  }

  it('authenticates { sub: 42, roles: "admin" } as user "42" with the role admin', async () => {
    const { user } = await authenticatorReturning({ sub: 42, roles: 'admin', exp: 2e9 }).authenticate('t');
    expect(user).toEqual({ id: '42', username: '42', roles: ['admin'] });
  });

  it('logs the real reason of a refusal at debug level, and tells the client nothing', async () => {
    const debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    const refused = authenticatorReturning({ sub: true }).authenticate('t');
    await expect(refused).rejects.toThrow(AuthFailedException);
    await expect(refused).rejects.toThrow('authentication failed');
    expect(debug).toHaveBeenCalledWith('token refused: sub is a boolean, not a string or a number');
    debug.mockClear();
    await expect(authenticatorReturning({ sub: 'a', roles: { x: 1 } }).authenticate('t')).rejects.toThrow(
      AuthFailedException,
    );
    expect(debug).toHaveBeenCalledWith('token refused: roles is not a string or array of strings (it is an object)');
  });
});

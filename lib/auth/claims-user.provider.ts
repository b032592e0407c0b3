import { Injectable } from '@nestjs/common';
import type { RealtimeUser, TokenClaims } from '../interfaces/realtime-user.interface.js';
import { UserProvider } from './user-provider.js';

/** The default {@link UserProvider}: the user is what the token says. */
@Injectable()
export class ClaimsUserProvider extends UserProvider {
  findUser(userId: string, claims: TokenClaims): RealtimeUser {
    const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
    const username = typeof claims.username === 'string' && claims.username !== '' ? claims.username : userId;
    return { id: userId, username, roles };
  }
}

import { Injectable } from '@nestjs/common';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { Connection, MessageData } from '../decorators/param.decorators.js';
import { OnMessage } from '../decorators/on-message.decorator.js';
import type { AuthSuccessData } from '../protocol/server-frames.js';
import { Public } from '../decorators/public.decorator.js';
import { HandshakeAdmission } from './handshake-admission.js';
import { Authenticator } from './authenticator.js';
import { MembershipRecheck } from './membership-recheck.js';
import { BuiltinHandlers } from '../decorators/builtin-handlers.decorator.js';

/**
 * The built-in `auth` message: `{ token }` → `auth_success { user_id, username, roles }` or
 * `auth_error AUTH_FAILED`. Authenticating again, as the same or another user, replaces the
 * connection's identity (and restarts its expiry clock) — if the connection guards, run again for
 * the new user, allow it (`auth_error FORBIDDEN` otherwise).
 */
@Injectable()
@BuiltinHandlers()
export class AuthMessageHandler {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly rooms: MembershipRecheck,
    private readonly admission: HandshakeAdmission,
  ) {}

  @OnMessage('auth', { reply: 'auth_success' })
  @Public()
  async auth(
    @MessageData('token') token: unknown,
    @Connection() connection: RealtimeConnection,
  ): Promise<AuthSuccessData> {
    const authentication = await this.authenticator.authenticate(token);
    // The connection guards decide for the new identity too (auth_error FORBIDDEN, identity kept).
    await this.admission.recheck(connection, authentication.user);
    const previousUserId = connection.userId;
    this.authenticator.bind(connection, authentication);
    const { user } = authentication;
    // Another identity: presence moves to it and the join policy is asked again for each room.
    if (previousUserId !== user.id && connection.rooms.size > 0) {
      await this.rooms.recheckMemberships(connection, previousUserId);
    }
    return { user_id: user.id, username: user.username, roles: user.roles };
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConnectionManager } from '../connections/connection.manager.js';
import { EventPublisher } from '../events/event.publisher.js';
import { SessionManager } from '../sessions/session.manager.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { AuthFailedException } from '../errors/realtime.exception.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import type { RealtimeUser } from './realtime-user.interface.js';
import { readTokenClaims } from './token-claims.js';
import { TokenValidator } from './token-validator.js';
import { UserProvider } from './user-provider.js';

/** A successful authentication: the user and when the token expires (epoch ms, 0: never). */
export interface Authentication {
  user: RealtimeUser;
  expiresAt: number;
}

/**
 * Token → user, and binding a user to a connection. Used by the handshake and by the `auth`
 * message, so both accept and refuse exactly the same tokens.
 */
@Injectable()
export class Authenticator {
  private readonly logger = new Logger('RealtimeAuth');

  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly validator: TokenValidator,
    private readonly users: UserProvider,
    private readonly connections: ConnectionManager,
    private readonly sessions: SessionManager,
    private readonly events: EventPublisher,
  ) {}

  /** True when the module was configured with `auth`. */
  get enabled(): boolean {
    return this.options.auth !== undefined;
  }

  /** Validates a token and finds its user; throws {@link AuthFailedException} otherwise. */
  async authenticate(token: unknown): Promise<Authentication> {
    if (!this.enabled) throw new AuthFailedException('authentication is not configured');
    if (typeof token !== 'string' || token === '' || token.length > 16_384) throw new AuthFailedException();
    try {
      const { userId, claims } = readTokenClaims(await this.validator.validate(token));
      const user = await this.users.findUser(userId, claims);
      if (!user) throw new Error(`the UserProvider knows no user ${userId}`);
      // A token accepted within the clock tolerance must also be usable within it.
      const tolerance = this.options.auth?.clockToleranceSeconds ?? 0;
      return { user, expiresAt: typeof claims.exp === 'number' ? (claims.exp + tolerance) * 1000 : 0 };
    } catch (error) {
      // The reason stays on the server: the client only learns that the token was refused.
      this.logger.debug(`token refused: ${error instanceof Error ? error.message : String(error)}`);
      throw new AuthFailedException();
    }
  }

  /** True when `userId` may open one more connection on this node. */
  hasRoomForUser(userId: string, connection?: RealtimeConnection): boolean {
    const limit = this.options.maxConnectionsPerUser;
    if (limit === 0 || connection?.userId === userId) return true;
    return this.connections.countByUser(userId) < limit;
  }

  /**
   * Makes `connection` act as `authentication.user` (moving it from any previous user) until the
   * token expires.
   */
  bind(connection: RealtimeConnection, authentication: Authentication): void {
    const { user, expiresAt } = authentication;
    if (!this.hasRoomForUser(user.id, connection)) {
      throw new AuthFailedException('connection limit reached for this user');
    }
    const previousUserId = connection.userId;
    this.connections.setUser(connection, user.id);
    connection.user = user;
    connection.tokenExpiresAt = expiresAt;
    connection.tokenExpiredAt = 0;
    this.sessions.setUser(connection);
    if (this.events.isObserved('connection.authenticated')) {
      this.events.emit('connection.authenticated', { connection, user, previousUserId });
    }
  }
}

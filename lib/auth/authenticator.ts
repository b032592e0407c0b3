import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConnectionManager } from '../connections/connection.manager.js';
import { EventPublisher } from '../events/event.publisher.js';
import { SessionManager } from '../sessions/session.manager.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { AuthFailedException, TooManyConnectionsException } from '../errors/realtime.exception.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { isPromiseLike, type MaybePromise } from '../utils/maybe-promise.js';
import type { RealtimeUser, TokenClaims } from '../interfaces/realtime-user.interface.js';
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

  /** Validates a token and finds its user; rejects with {@link AuthFailedException} otherwise. */
  async authenticate(token: unknown): Promise<Authentication> {
    return this.authenticateNow(token);
  }

  /**
   * {@link authenticate} without a promise when the validator and the user provider answer
   * synchronously (the defaults do), so a handshake with a token completes in the tick of its
   * upgrade; a promise otherwise. A refusal is an {@link AuthFailedException}, thrown at once or
   * through the promise.
   */
  authenticateNow(token: unknown): MaybePromise<Authentication> {
    if (!this.enabled) throw new AuthFailedException('authentication is not configured');
    if (typeof token !== 'string' || token === '' || token.length > 16_384) throw new AuthFailedException();
    try {
      const claims = this.validator.validate(token);
      const authentication = isPromiseLike(claims)
        ? Promise.resolve(claims).then((resolved) => this.authenticationOf(resolved))
        : this.authenticationOf(claims);
      if (!isPromiseLike(authentication)) return authentication;
      return Promise.resolve(authentication).then(undefined, (error: unknown) => {
        throw this.refusal(error);
      });
    } catch (error) {
      throw this.refusal(error);
    }
  }

  /** The user of validated claims (throws a plain `Error` when there is none). */
  private authenticationOf(verified: TokenClaims): MaybePromise<Authentication> {
    const { userId, claims } = readTokenClaims(verified);
    const user = this.users.findUser(userId, claims);
    return isPromiseLike(user)
      ? Promise.resolve(user).then((found) => this.withExpiry(userId, found, claims))
      : this.withExpiry(userId, user, claims);
  }

  private withExpiry(userId: string, user: RealtimeUser | undefined, claims: TokenClaims): Authentication {
    if (!user) throw new Error(`the UserProvider knows no user ${userId}`);
    // A token accepted within the clock tolerance must also be usable within it.
    const tolerance = this.options.auth?.clockToleranceSeconds ?? 0;
    return { user, expiresAt: typeof claims.exp === 'number' ? (claims.exp + tolerance) * 1000 : 0 };
  }

  /** The reason stays on the server: the client only learns that the token was refused. */
  private refusal(error: unknown): AuthFailedException {
    this.logger.debug(`token refused: ${error instanceof Error ? error.message : String(error)}`);
    return new AuthFailedException();
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
      throw new TooManyConnectionsException();
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

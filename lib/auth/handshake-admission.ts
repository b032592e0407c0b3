import type { IncomingMessage } from 'node:http';
import { type CanActivate, HttpException, Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { type Authentication, Authenticator } from './authenticator.js';
import { extractHandshakeToken } from './extract-token.js';
import type { RealtimeUser } from '../interfaces/realtime-user.interface.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { RealtimeException } from '../errors/realtime.exception.js';
import { instantiateGuard, realtimeContext, runGuard } from '../guards/guard-runner.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { ErrorCode, ErrorFrameType } from '../protocol/error-codes.js';
import { isPromiseLike, type MaybePromise } from '../utils/maybe-promise.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';

/** An upgrade refused before the WebSocket exists: answered with an HTTP status. */
export class HandshakeRefusal extends Error {
  constructor(readonly status: number) {
    super(`handshake refused with HTTP ${status}`);
  }
}

/** The upgrade request as connection guards see it: Passport-style, with `user` when known. */
export type HandshakeRequest = IncomingMessage & { user?: RealtimeUser };

/** `getHandler()` of a connection guard's context, so `Reflector` lookups have a target. */
function onConnect(): void {}

/**
 * Decides whether an upgrade may become a connection: the handshake token (401 when bad) and
 * the connection guards (401/403), in Nest's guard contract. Only guards and asynchronous
 * validators or user providers make it asynchronous.
 */
@Injectable()
export class HandshakeAdmission implements OnModuleInit {
  private readonly logger = new Logger('RealtimeServer');
  private guards: CanActivate[] = [];

  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly authenticator: Authenticator,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onModuleInit(): Promise<void> {
    this.guards = await Promise.all(
      this.options.connectionGuards.map((guard) => instantiateGuard(this.moduleRef, guard)),
    );
  }

  /** True when connection guards are configured (their upgrade request is kept for {@link recheck}). */
  get hasGuards(): boolean {
    return this.guards.length > 0;
  }

  /**
   * Runs the connection guards again for `connection` about to become `user` (an `auth` message):
   * they see the connection's upgrade request with `request.user` set to the new user, as at an
   * upgrade with that user's token. A refusal throws `auth_error FORBIDDEN`, and the connection
   * keeps its identity: otherwise an `auth` message could switch a socket to a user the guards
   * would have refused at the door.
   */
  async recheck(connection: RealtimeConnection, user: RealtimeUser): Promise<void> {
    const request = connection.handshakeRequest as HandshakeRequest | undefined;
    if (this.guards.length === 0 || request === undefined) return;
    const previous = request.user;
    request.user = user;
    try {
      let allowed: boolean;
      try {
        allowed = await this.passGuards(request);
      } catch (error) {
        if (!(error instanceof HttpException)) {
          this.logger.error('A connection guard threw', error instanceof Error ? error.stack : String(error));
        }
        allowed = false;
      }
      if (!allowed) {
        throw new RealtimeException(
          ErrorCode.FORBIDDEN,
          'refused by a connection guard',
          undefined,
          ErrorFrameType.AUTH_ERROR,
        );
      }
    } finally {
      request.user = previous;
    }
  }

  /**
   * Resolves with the handshake's authentication (if it carried a token), or throws a
   * {@link HandshakeRefusal}. Synchronous — a value, or a throw — when there is nothing to wait
   * for: no connection guards and a validator and user provider that answer at once (the
   * defaults), so the usual authenticated upgrade needs no promise, timer or pending entry.
   */
  admit(request: HandshakeRequest): MaybePromise<Authentication | undefined> {
    // Without `auth` a token means nothing here: the connection is anonymous, as without one.
    const token = this.authenticator.enabled ? extractHandshakeToken(request) : undefined;
    const authentication = token === undefined ? undefined : this.authenticate(request, token);
    if (this.guards.length === 0) return authentication;
    return this.runGuards(request, authentication);
  }

  private authenticate(request: HandshakeRequest, token: string): MaybePromise<Authentication> {
    let authentication: MaybePromise<Authentication>;
    try {
      authentication = this.authenticator.authenticateNow(token);
    } catch {
      throw new HandshakeRefusal(401);
    }
    if (!isPromiseLike(authentication)) return this.admitUser(request, authentication);
    return authentication.then(
      (authenticated) => this.admitUser(request, authenticated),
      () => {
        throw new HandshakeRefusal(401);
      },
    );
  }

  private admitUser(request: HandshakeRequest, authentication: Authentication): Authentication {
    if (!this.authenticator.hasRoomForUser(authentication.user.id)) {
      this.logger.warn(
        `maxConnectionsPerUser (${this.options.maxConnectionsPerUser}) reached for a user: refusing an upgrade`,
      );
      throw new HandshakeRefusal(429);
    }
    request.user = authentication.user;
    return authentication;
  }

  private async runGuards(
    request: HandshakeRequest,
    pending: MaybePromise<Authentication> | undefined,
  ): Promise<Authentication | undefined> {
    const authentication = await pending;
    let allowed: boolean;
    try {
      allowed = await this.passGuards(request);
    } catch (error) {
      throw new HandshakeRefusal(this.statusOf(error, request));
    }
    if (!allowed) throw new HandshakeRefusal(request.user ? 403 : 401);
    return authentication;
  }

  /**
   * Runs the connection guards on `request` in order, as at an upgrade: false as soon as one
   * refuses, true when all allow; what a guard throws propagates.
   */
  private async passGuards(request: HandshakeRequest): Promise<boolean> {
    for (const guard of this.guards) {
      const context = realtimeContext([request, undefined, undefined, 'connect'], HandshakeAdmission, onConnect);
      if (!(await runGuard(guard, context))) return false;
    }
    return true;
  }

  private statusOf(error: unknown, request: HandshakeRequest): number {
    // Before HttpException, which RealtimeException is: a connection guard's refusal is 401 or 403.
    if (error instanceof RealtimeException) {
      return error.code === ErrorCode.AUTH_REQUIRED || error.code === ErrorCode.AUTH_FAILED ? 401 : 403;
    }
    if (error instanceof HttpException) return error.getStatus();
    this.logger.error('A connection guard threw', error instanceof Error ? error.stack : String(error));
    return request.user ? 403 : 401;
  }
}

import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { RealtimeConnection } from '../connections/realtime-connection.js';
import { AuthRequiredException } from '../errors/realtime.exception.js';

/**
 * The global message guard: every message needs an authenticated connection (`AUTH_REQUIRED`)
 * unless its handler is `@Public()`. The router runs it before the handler's own guards, like a
 * global guard, for every non-public handler when `auth.required` is on; it is not registered
 * as `APP_GUARD` so that the app's HTTP routes are not affected.
 */
@Injectable()
export class RealtimeAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const client: unknown = context.getArgByIndex(0);
    if (!(client instanceof RealtimeConnection) || client.isAuthenticated()) return true;
    throw new AuthRequiredException();
  }
}

import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthRequiredException, InsufficientPermissionsException } from '../errors/realtime.exception.js';
import { REQUIRED_ROLES_METADATA } from '../realtime.constants.js';
import { isRealtimeContext, userOfContext } from './user-of-context.js';

/** Role that satisfies every role requirement. */
const ADMIN_ROLE = 'admin';

/** True when `userRoles` satisfies a requirement of any of `required` (admin satisfies all). */
function hasAnyRole(userRoles: readonly string[], required: readonly string[]): boolean {
  return userRoles.includes(ADMIN_ROLE) || required.some((role) => userRoles.includes(role));
}

/**
 * The guard behind `@RequireRoles()`: reads the roles from the handler, then its class. Works on
 * message handlers, on connection guards' contexts and on HTTP routes alike.
 */
@Injectable()
export class RealtimeRolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()].filter((t): t is never => typeof t === 'function');
    const required = this.reflector.getAllAndOverride<string[] | undefined>(REQUIRED_ROLES_METADATA, targets);
    if (!required?.length) return true;
    return checkRoles(context, required);
  }
}

/** Shared by the metadata-driven guard and {@link ConnectionRolesGuard}. */
export function checkRoles(context: ExecutionContext, required: readonly string[]): boolean {
  const user = userOfContext(context);
  const realtime = isRealtimeContext(context);
  if (!user) throw realtime ? new AuthRequiredException() : new UnauthorizedException();
  if (hasAnyRole(user.roles, required)) return true;
  throw realtime ? new InsufficientPermissionsException() : new ForbiddenException('insufficient permissions');
}

/**
 * A connection guard that admits only users with one of `roles`:
 * `connectionGuards: [new ConnectionRolesGuard('staff')]`.
 */
export class ConnectionRolesGuard implements CanActivate {
  private readonly roles: readonly string[];

  constructor(...roles: string[]) {
    this.roles = roles;
  }

  canActivate(context: ExecutionContext): boolean {
    return checkRoles(context, this.roles);
  }
}

import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { RealtimeRolesGuard } from '../guards/realtime-roles.guard.js';
import { REQUIRED_ROLES_METADATA } from '../realtime.constants.js';

/**
 * Requires one of `roles` (role `admin` satisfies every requirement). On a method or a class;
 * compiles to a guard in Nest's pipeline. Refusal: `authorization_error INSUFFICIENT_PERMISSIONS`
 * (HTTP 403 on a controller route).
 */
export function RequireRoles(...roles: string[]): MethodDecorator & ClassDecorator {
  if (roles.length === 0 || roles.some((role) => typeof role !== 'string' || role === '')) {
    throw new TypeError('@RequireRoles() needs at least one non-empty role name');
  }
  return applyDecorators(SetMetadata(REQUIRED_ROLES_METADATA, roles), UseGuards(RealtimeRolesGuard));
}
RequireRoles.KEY = REQUIRED_ROLES_METADATA;

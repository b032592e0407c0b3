export { RealtimeModule } from './realtime.module.js';
export { REALTIME_MODULE_OPTIONS, type RealtimeModuleExtras } from './realtime.module-definition.js';
export { RESOLVED_REALTIME_OPTIONS } from './realtime.constants.js';
export type {
  JwtAlgorithm,
  OriginPredicate,
  RealtimeAuthOptions,
  RealtimeModuleOptions,
  RealtimeRateLimitOptions,
  ResolvedAuthOptions,
  ResolvedRealtimeOptions,
} from './interfaces/realtime-options.interface.js';
export type { RealtimeUser, TokenClaims } from './auth/realtime-user.interface.js';
export { TokenValidator } from './auth/token-validator.js';
export { UserProvider } from './auth/user-provider.js';
export { JwtTokenValidator } from './auth/jwt-token.validator.js';
export { ClaimsUserProvider } from './auth/claims-user.provider.js';
export { Authenticator, type Authentication } from './auth/authenticator.js';
export { extractHandshakeToken } from './auth/extract-token.js';
export type { AuthSuccessData } from './auth/auth-message.handler.js';
export { Public } from './decorators/public.decorator.js';
export { RequireRoles } from './decorators/require-roles.decorator.js';
export { RealtimeAuthGuard } from './guards/realtime-auth.guard.js';
export { RealtimeRolesGuard, ConnectionRolesGuard, hasAnyRole, ADMIN_ROLE } from './guards/realtime-roles.guard.js';
export type { HandshakeRequest } from './server/handshake-admission.js';
export { InvalidRealtimeOptionError, resolveRealtimeOptions, DEFAULT_OPTIONS } from './options/resolve-options.js';
export { OnMessage, type OnMessageOptions } from './decorators/on-message.decorator.js';
export { Connection, Message, MessageData } from './decorators/param.decorators.js';
export { Reply } from './dispatch/reply.js';
export { ConnectionManager } from './connections/connection.manager.js';
export { RealtimeConnection } from './connections/realtime-connection.js';
export { RealtimeStats, type UpgradeRejection } from './connections/realtime-stats.js';
export { MessageHandlerRegistry } from './discovery/message-handler.registry.js';
export {
  AuthFailedException,
  AuthRequiredException,
  InsufficientPermissionsException,
  RealtimeBadRequestException,
  RealtimeException,
  RealtimeForbiddenException,
} from './errors/realtime.exception.js';
export * from './protocol/index.js';

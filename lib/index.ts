export { RealtimeModule } from './realtime.module.js';
export { REALTIME_MODULE_OPTIONS, type RealtimeModuleExtras } from './realtime.module-definition.js';
export { RESOLVED_REALTIME_OPTIONS } from './realtime.constants.js';
export type {
  BuiltinMessageType,
  JwtAlgorithm,
  OriginPredicate,
  RealtimeAuthOptions,
  RealtimeHistoryOptions,
  RealtimeModuleOptions,
  RealtimeRateLimitOptions,
  RealtimeResumeOptions,
  ResolvedAuthOptions,
  ResolvedRealtimeOptions,
} from './interfaces/realtime-options.interface.js';
export type { TrustProxy, TrustProxyPredicate } from './options/trust-proxy.js';
export type { RealtimeUser, TokenClaims } from './interfaces/realtime-user.interface.js';
export { TokenValidator } from './auth/token-validator.js';
export { UserProvider } from './auth/user-provider.js';
export { JwtTokenValidator } from './auth/jwt-token.validator.js';
export { ClaimsUserProvider } from './auth/claims-user.provider.js';
export { Authenticator, type Authentication } from './auth/authenticator.js';
export { extractHandshakeToken } from './auth/extract-token.js';
export type { AuthSuccessData } from './protocol/server-frames.js';
export { Public } from './decorators/public.decorator.js';
export { RequireRoles } from './decorators/require-roles.decorator.js';
export { RealtimeAuthGuard } from './guards/realtime-auth.guard.js';
export { RealtimeRolesGuard, ConnectionRolesGuard, hasAnyRole, ADMIN_ROLE } from './guards/realtime-roles.guard.js';
export type { HandshakeRequest } from './auth/handshake-admission.js';
export { RealtimeHttpAuthGuard } from './auth/http-auth.guard.js';
export {
  RoomManager,
  type BroadcastOptions,
  type BroadcastResult,
  type JoinOptions,
  type RoomInfo,
} from './rooms/room.manager.js';
export type { PresenceEntry } from './presence/presence-tracker.js';
export { RoomJoinPolicy, AllowAllJoinPolicy } from './rooms/room-join.policy.js';
export type { RoomSettings, SlowConsumerPolicy } from './options/room-settings.js';
export { isValidRoomId } from './rooms/room-id.js';
export { SessionManager } from './sessions/session.manager.js';
export { RealtimeSession } from './sessions/realtime-session.js';
export { BroadcastEngine } from './broadcast/broadcast.engine.js';
export { EventPublisher } from './events/event.publisher.js';
export { OnRealtimeEvent } from './events/on-realtime-event.decorator.js';
export type { RealtimeEvent, RealtimeEventMap, RealtimeEventName } from './events/realtime-event.types.js';
export type { ChatMessageData } from './protocol/envelope.js';
export { InvalidRealtimeOptionError, resolveRealtimeOptions, DEFAULT_OPTIONS } from './options/resolve-options.js';
export { OnMessage, type OnMessageOptions } from './decorators/on-message.decorator.js';
export { Connection, CurrentUser, Message, MessageData } from './decorators/param.decorators.js';
export { Reply } from './dispatch/reply.js';
export { ConnectionManager } from './connections/connection.manager.js';
export { RealtimeConnection } from './connections/realtime-connection.js';
export { RealtimeStats, MessageLabel, type ServerStats, type UpgradeRejection } from './stats/realtime-stats.js';
export { METRIC, LATENCY_BUCKETS } from './metrics/metric-definitions.js';
export { MessageLatency } from './stats/message-latency.js';
export { RealtimeHealth, type RealtimeHealthReport } from './health/realtime-health.js';
export {
  ClusterAdapter,
  InMemoryClusterAdapter,
  type ClusterHost,
  type RoomFrameParts,
  type Sequenced,
} from './cluster/cluster.adapter.js';
export { ClusterChannels } from './cluster/cluster-channels.js';
export { RealtimeEmitter, RealtimeEmitterModule } from './cluster/realtime.emitter.js';
export { MessageHandlerRegistry } from './discovery/message-handler.registry.js';
export {
  AuthFailedException,
  TooManyConnectionsException,
  AuthRequiredException,
  InsufficientPermissionsException,
  NotInRoomException,
  UserOfflineException,
  RealtimeBadRequestException,
  RealtimeException,
  RealtimeForbiddenException,
  httpStatusOfErrorCode,
  type RealtimeHttpErrorBody,
} from './errors/realtime.exception.js';
export * from './protocol/index.js';

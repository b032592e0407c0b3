/**
 * `nest-realtime`: the public API, and all of it — what README.md documents (the module, its
 * decorators, the injectable services, the exceptions, the options and event types, the cluster
 * adapter base class and the protocol constants). Every name is listed on purpose: anything not
 * here is internal and may change in any release. `api/public-api.json` records this list; its
 * test fails when it changes by accident (`npm run api:update` after an intended change).
 */
// The module and its options
export { RealtimeModule } from './realtime.module.js';
export type { RealtimeModuleExtras } from './realtime.module-definition.js';
export type {
  BuiltinMessageType,
  JwtAlgorithm,
  OriginPredicate,
  RealtimeAuthOptions,
  RealtimeCompressionOptions,
  RealtimeHistoryOptions,
  RealtimeModuleOptions,
  RealtimeRateLimitOptions,
  RealtimeResumeOptions,
} from './interfaces/realtime-options.interface.js';
export type { TrustProxy, TrustProxyPredicate } from './options/trust-proxy.js';
export { InvalidRealtimeOptionError } from './options/resolve-options.js';

// Handlers
export { OnMessage, type OnMessageOptions } from './decorators/on-message.decorator.js';
export { Connection, CurrentUser, Message, MessageData } from './decorators/param.decorators.js';
export { Reply } from './dispatch/reply.js';
// Documentation metadata only: the AsyncAPI document is built by `nest-realtime/asyncapi`
export { MessageDoc, type MessageDocOptions, type PayloadClass } from './decorators/message-doc.decorator.js';

// Authentication and authorization
export type { RealtimeUser, TokenClaims } from './interfaces/realtime-user.interface.js';
export { TokenValidator } from './auth/token-validator.js';
export { UserProvider } from './auth/user-provider.js';
export { Public } from './decorators/public.decorator.js';
export { RequireRoles } from './decorators/require-roles.decorator.js';
export { RealtimeAuthGuard } from './guards/realtime-auth.guard.js';
export { ConnectionRolesGuard } from './guards/realtime-roles.guard.js';
export { RealtimeHttpAuthGuard } from './auth/http-auth.guard.js';
export type { HandshakeRequest } from './auth/handshake-admission.js';

// Rooms, sessions, connections and broadcasting
export {
  RoomManager,
  type BroadcastOptions,
  type BroadcastResult,
  type JoinOptions,
  type RoomInfo,
} from './rooms/room.manager.js';
export type { PresenceEntry } from './presence/presence-tracker.js';
export { RoomJoinPolicy } from './rooms/room-join.policy.js';
export type { RoomSettings, SlowConsumerPolicy } from './options/room-settings.js';
export { isValidRoomId } from './protocol/room-id.js';
export { SessionManager } from './sessions/session.manager.js';
export { RealtimeSession } from './sessions/realtime-session.js';
export { ConnectionManager } from './connections/connection.manager.js';
export { RealtimeConnection } from './connections/realtime-connection.js';
export type { ServerStats } from './stats/realtime-stats.js';

// Events
export { EventPublisher } from './events/event.publisher.js';
export { OnRealtimeEvent } from './events/on-realtime-event.decorator.js';
export type { RealtimeEvent, RealtimeEventMap, RealtimeEventName } from './events/realtime-event.types.js';

// Observability
export { RealtimeHealth, type RealtimeHealthReport, type RealtimeHealthSnapshot } from './health/realtime-health.js';

// Clustering (the Redis adapter is the `nest-realtime/redis` entry point)
export { ClusterAdapter, type ClusterHost, type RoomFrameParts, type Sequenced } from './cluster/cluster.adapter.js';
export { RealtimeEmitter, RealtimeEmitterModule } from './cluster/realtime.emitter.js';

// Errors
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
  type RealtimeHttpErrorBody,
} from './errors/realtime.exception.js';

// The protocol (PROTOCOL.md): the codes and types a handler or a filter works with
export { CloseCode } from './protocol/close-codes.js';
export { ErrorCode, ErrorFrameType } from './protocol/error-codes.js';
export { MessageType } from './protocol/message-types.js';
export type { ChatMessageData, ConnectedData, Envelope, ErrorData } from './protocol/envelope.js';

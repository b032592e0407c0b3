import type { Provider } from '@nestjs/common';
import { AuthMessageHandler } from './auth/auth-message.handler.js';
import { MembershipRecheck } from './auth/membership-recheck.js';
import { Authenticator } from './auth/authenticator.js';
import { RealtimeHttpAuthGuard } from './auth/http-auth.guard.js';
import { BroadcastEngine } from './broadcast/broadcast.engine.js';
import { BuiltinMessageHandlers } from './builtins/builtin-message.handlers.js';
import { DirectMessageHandlers } from './builtins/direct-message.handlers.js';
import { ResumeMessageHandler } from './builtins/resume-message.handler.js';
import { RoomMessageHandlers } from './builtins/room-message.handlers.js';
import { ClusterAdapter } from './cluster/cluster.adapter.js';
import { InMemoryClusterAdapter } from './cluster/in-memory-cluster.adapter.js';
import { ClusterBridge } from './rooms/cluster.bridge.js';
import { ConnectionManager } from './connections/connection.manager.js';
import { RealtimeStats } from './stats/realtime-stats.js';
import { MessageHandlerExplorer } from './discovery/message-handler.explorer.js';
import { MessageHandlerRegistry } from './discovery/message-handler.registry.js';
import { RealtimeMetadataAccessor } from './discovery/realtime-metadata.accessor.js';
import { HandlerInvokerFactory } from './dispatch/handler-invoker.factory.js';
import { MessageDispatcher } from './dispatch/message.dispatcher.js';
import { EventPublisher } from './events/event.publisher.js';
import { GatedMembers, ResumableRooms } from './history/history-rooms.js';
import { RoomHistoryService } from './history/room-history.service.js';
import { RoomResume } from './history/room-resume.js';
import { RealtimeEventExplorer } from './events/realtime-event.explorer.js';
import { RealtimeAuthGuard } from './guards/realtime-auth.guard.js';
import { RealtimeRolesGuard } from './guards/realtime-roles.guard.js';
import { RealtimeHealth } from './health/realtime-health.js';
import { RoomPresence } from './presence/room-presence.js';
import type { ResolvedRealtimeOptions } from './interfaces/realtime-options.interface.js';
import { InvalidRealtimeOptionError } from './options/resolve-options.js';
import { RESOLVED_REALTIME_OPTIONS } from './realtime.constants.js';
import { JoinPipeline } from './rooms/join.pipeline.js';
import { RoomManager } from './rooms/room.manager.js';
import { RoomBroadcaster } from './rooms/room-broadcaster.js';
import { RoomDelivery } from './rooms/room-delivery.js';
import { RoomGates } from './rooms/room-gates.js';
import { RoomRegistry } from './rooms/room-registry.js';
import { HandshakeAdmission } from './auth/handshake-admission.js';
import { RealtimeServer } from './server/realtime.server.js';
import { SessionManager } from './sessions/session.manager.js';
import { RealtimeTracing } from './tracing/realtime-tracing.js';

/**
 * The `cluster` option's adapter: the one given, or the single-node default. Resolved here rather
 * than with the other options because the check needs the `ClusterAdapter` class and the default
 * is the in-memory adapter, both in cluster/, which sits above options/ (ARCHITECTURE.md). It
 * runs once, when the module is created, so a wrong value still fails start-up.
 */
function clusterAdapterOf(options: ResolvedRealtimeOptions): ClusterAdapter {
  const { cluster } = options;
  if (cluster === undefined) return new InMemoryClusterAdapter();
  if (!(cluster instanceof ClusterAdapter)) {
    throw new InvalidRealtimeOptionError(
      'cluster',
      'must be a ClusterAdapter instance (e.g. new RedisClusterAdapter({ url }) from nest-realtime/redis)',
    );
  }
  return cluster;
}

/**
 * The module's services. They are added by `forRoot`/`forRootAsync` (see
 * realtime.module-definition.ts), not listed on the `@Module` class: the bare class, imported
 * by mistake in a feature module, then has nothing but the options check, which fails with a
 * message saying what to do rather than Nest's "can't resolve" on whichever service came first.
 */
export const REALTIME_PROVIDERS: Provider[] = [
  RealtimeStats,
  {
    provide: RealtimeTracing,
    useFactory: (options: ResolvedRealtimeOptions) => new RealtimeTracing(options.tracing, options.nodeId),
    inject: [RESOLVED_REALTIME_OPTIONS],
  },
  ConnectionManager,
  SessionManager,
  EventPublisher,
  RealtimeEventExplorer,
  BroadcastEngine,
  JoinPipeline,
  // Rooms and their history. History declares what it needs of the rooms (GatedMembers,
  // ResumableRooms) and is bound to them here, so history/ does not import rooms/.
  RoomRegistry,
  RoomDelivery,
  RoomGates,
  { provide: GatedMembers, useExisting: RoomGates },
  RoomHistoryService,
  RoomPresence,
  RoomBroadcaster,
  RoomManager,
  // RoomManager does not name ResumableRooms itself (it is public; the token is not): checked here.
  { provide: ResumableRooms, useExisting: RoomManager satisfies new (...args: never[]) => ResumableRooms },
  RoomResume,
  // The rooms layer answers auth/'s re-authentication port (auth/ does not import rooms/).
  { provide: MembershipRecheck, useExisting: RoomManager },
  RealtimeMetadataAccessor,
  MessageHandlerExplorer,
  MessageHandlerRegistry,
  HandlerInvokerFactory,
  MessageDispatcher,
  Authenticator,
  RealtimeAuthGuard,
  RealtimeRolesGuard,
  RealtimeHttpAuthGuard,
  HandshakeAdmission,
  BuiltinMessageHandlers,
  AuthMessageHandler,
  RoomMessageHandlers,
  ResumeMessageHandler,
  DirectMessageHandlers,
  RealtimeServer,
  RealtimeHealth,
  { provide: ClusterAdapter, useFactory: clusterAdapterOf, inject: [RESOLVED_REALTIME_OPTIONS] },
  ClusterBridge,
];

/** What the module exports (everywhere, as it is global unless `isGlobal: false`). */
export const REALTIME_EXPORTS = [
  RealtimeHealth,
  ClusterAdapter,
  ConnectionManager,
  SessionManager,
  RoomManager,
  BroadcastEngine,
  EventPublisher,
  RealtimeStats,
  MessageHandlerRegistry,
  Authenticator,
  RealtimeRolesGuard,
  RealtimeHttpAuthGuard,
  RESOLVED_REALTIME_OPTIONS,
];

import { Inject, Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AuthMessageHandler } from './auth/auth-message.handler.js';
import { Authenticator } from './auth/authenticator.js';
import { RealtimeHttpAuthGuard } from './auth/http-auth.guard.js';
import { BroadcastEngine } from './broadcast/broadcast.engine.js';
import { BuiltinMessageHandlers } from './builtins/builtin-message.handlers.js';
import { DirectMessageHandlers } from './builtins/direct-message.handlers.js';
import { ResumeMessageHandler } from './builtins/resume-message.handler.js';
import { RoomMessageHandlers } from './builtins/room-message.handlers.js';
import { ConnectionManager } from './connections/connection.manager.js';
import { RealtimeStats } from './connections/realtime-stats.js';
import { MessageHandlerExplorer } from './discovery/message-handler.explorer.js';
import { MessageHandlerRegistry } from './discovery/message-handler.registry.js';
import { RealtimeMetadataAccessor } from './discovery/realtime-metadata.accessor.js';
import { HandlerInvokerFactory } from './dispatch/handler-invoker.factory.js';
import { MessageDispatcher } from './dispatch/message.dispatcher.js';
import { EventPublisher } from './events/event.publisher.js';
import { RealtimeEventExplorer } from './events/realtime-event.explorer.js';
import { RealtimeAuthGuard } from './guards/realtime-auth.guard.js';
import { RealtimeRolesGuard } from './guards/realtime-roles.guard.js';
import type {
  BuiltinMessageType,
  RealtimeModuleOptions,
  ResolvedRealtimeOptions,
} from './interfaces/realtime-options.interface.js';
import { resolveRealtimeOptions } from './options/resolve-options.js';
import { RESOLVED_REALTIME_OPTIONS } from './realtime.constants.js';
import { ConfigurableRealtimeModule, REALTIME_MODULE_OPTIONS } from './realtime.module-definition.js';
import { JoinPipeline } from './rooms/join.pipeline.js';
import { RoomManager } from './rooms/room.manager.js';
import { HandshakeAdmission } from './server/handshake-admission.js';
import { RealtimeServer } from './server/realtime.server.js';
import { RealtimeHealth } from './health/realtime-health.js';
import { ClusterAdapter } from './cluster/cluster.adapter.js';
import { ClusterBridge } from './cluster/cluster.bridge.js';
import { SessionManager } from './sessions/session.manager.js';

/**
 * Real-time messaging over WebSocket for a Nest application:
 * `RealtimeModule.forRoot({ path: '/ws' })` or `RealtimeModule.forRootAsync({ useFactory })`,
 * with `isGlobal: true` to make its services injectable everywhere without importing it again.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: RESOLVED_REALTIME_OPTIONS,
      useFactory: (options: RealtimeModuleOptions) => resolveRealtimeOptions(options),
      inject: [REALTIME_MODULE_OPTIONS],
    },
    RealtimeStats,
    ConnectionManager,
    SessionManager,
    EventPublisher,
    RealtimeEventExplorer,
    BroadcastEngine,
    JoinPipeline,
    RoomManager,
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
    {
      provide: ClusterAdapter,
      useFactory: (options: ResolvedRealtimeOptions) => options.cluster,
      inject: [RESOLVED_REALTIME_OPTIONS],
    },
    ClusterBridge,
  ],
  exports: [
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
  ],
})
export class RealtimeModule extends ConfigurableRealtimeModule implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    private readonly explorer: MessageHandlerExplorer,
    private readonly eventExplorer: RealtimeEventExplorer,
    private readonly invokers: HandlerInvokerFactory,
    private readonly registry: MessageHandlerRegistry,
    private readonly events: EventPublisher,
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {
    super();
  }

  /**
   * Routes are compiled here rather than in `onModuleInit`: global enhancers registered with
   * `app.useGlobalGuards()` and friends are only known once the application is initialised.
   */
  onApplicationBootstrap(): void {
    this.registry.clear();
    for (const definition of this.explorer.explore()) {
      if (definition.builtin && !this.options.builtins[definition.type as BuiltinMessageType]) continue;
      this.registry.register(this.invokers.create(definition));
    }
    this.eventExplorer.explore();
  }

  onModuleDestroy(): void {
    this.events.complete();
  }
}

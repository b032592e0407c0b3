import { Inject, Module, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AuthMessageHandler } from './auth/auth-message.handler.js';
import { Authenticator } from './auth/authenticator.js';
import { BuiltinMessageHandlers } from './builtins/builtin-message.handlers.js';
import { RealtimeAuthGuard } from './guards/realtime-auth.guard.js';
import { RealtimeRolesGuard } from './guards/realtime-roles.guard.js';
import { HandshakeAdmission } from './server/handshake-admission.js';
import { ConnectionManager } from './connections/connection.manager.js';
import { RealtimeStats } from './connections/realtime-stats.js';
import { MessageHandlerExplorer } from './discovery/message-handler.explorer.js';
import { MessageHandlerRegistry } from './discovery/message-handler.registry.js';
import { RealtimeMetadataAccessor } from './discovery/realtime-metadata.accessor.js';
import { HandlerInvokerFactory } from './dispatch/handler-invoker.factory.js';
import { MessageDispatcher } from './dispatch/message.dispatcher.js';
import type { RealtimeModuleOptions, ResolvedRealtimeOptions } from './interfaces/realtime-options.interface.js';
import { resolveRealtimeOptions } from './options/resolve-options.js';
import { RESOLVED_REALTIME_OPTIONS } from './realtime.constants.js';
import { ConfigurableRealtimeModule, REALTIME_MODULE_OPTIONS } from './realtime.module-definition.js';
import { RealtimeServer } from './server/realtime.server.js';

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
    RealtimeMetadataAccessor,
    MessageHandlerExplorer,
    MessageHandlerRegistry,
    HandlerInvokerFactory,
    MessageDispatcher,
    BuiltinMessageHandlers,
    Authenticator,
    AuthMessageHandler,
    RealtimeAuthGuard,
    RealtimeRolesGuard,
    HandshakeAdmission,
    RealtimeServer,
  ],
  exports: [
    ConnectionManager,
    RealtimeStats,
    MessageHandlerRegistry,
    Authenticator,
    RealtimeRolesGuard,
    RESOLVED_REALTIME_OPTIONS,
  ],
})
export class RealtimeModule extends ConfigurableRealtimeModule implements OnApplicationBootstrap {
  constructor(
    private readonly explorer: MessageHandlerExplorer,
    private readonly invokers: HandlerInvokerFactory,
    private readonly registry: MessageHandlerRegistry,
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
      if (definition.builtin && !this.options.builtins[definition.type as keyof ResolvedRealtimeOptions['builtins']]) {
        continue;
      }
      this.registry.register(this.invokers.create(definition));
    }
  }
}

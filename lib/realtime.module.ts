import { Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DiscoveryModule, ModuleRef } from '@nestjs/core';
import { MessageHandlerExplorer } from './discovery/message-handler.explorer.js';
import { MessageHandlerRegistry } from './discovery/message-handler.registry.js';
import { selectHandlers } from './discovery/select-handlers.js';
import { HandlerInvokerFactory } from './dispatch/handler-invoker.factory.js';
import { EventPublisher } from './events/event.publisher.js';
import { RealtimeEventExplorer } from './events/realtime-event.explorer.js';
import type { RealtimeModuleOptions, ResolvedRealtimeOptions } from './interfaces/realtime-options.interface.js';
import { resolveRealtimeOptions } from './options/resolve-options.js';
import { RESOLVED_REALTIME_OPTIONS } from './realtime.constants.js';
import { Messages } from './realtime.messages.js';
import { ConfigurableRealtimeModule, REALTIME_MODULE_OPTIONS } from './realtime.module-definition.js';

/**
 * Real-time messaging over WebSocket for a Nest application:
 * `RealtimeModule.forRoot({ path: '/ws' })` or `RealtimeModule.forRootAsync({ useFactory })`,
 * imported once in the root module. It is global: feature modules inject its services without
 * importing it (`isGlobal: false` opts out).
 */
@Module({
  imports: [DiscoveryModule],
  // The services come with forRoot/forRootAsync (realtime.providers.ts); only the options check
  // is here, so that the bare class fails with a message that says what to do. The options are
  // optional for that reason: otherwise Nest's "can't resolve" on an internal token comes first.
  providers: [
    {
      provide: RESOLVED_REALTIME_OPTIONS,
      useFactory: (options: RealtimeModuleOptions | undefined) => {
        if (options === undefined) throw new Error(Messages.bareModuleImport());
        return resolveRealtimeOptions(options);
      },
      inject: [{ token: REALTIME_MODULE_OPTIONS, optional: true }],
    },
  ],
})
export class RealtimeModule extends ConfigurableRealtimeModule implements OnApplicationBootstrap, OnModuleDestroy {
  /** Only ModuleRef, which the bare class can resolve too: the services are looked up when used. */
  constructor(private readonly moduleRef: ModuleRef) {
    super();
  }

  /**
   * Routes are compiled here rather than in `onModuleInit`: global enhancers registered with
   * `app.useGlobalGuards()` and friends are only known once the application is initialised.
   */
  onApplicationBootstrap(): void {
    const options = this.moduleRef.get<ResolvedRealtimeOptions>(RESOLVED_REALTIME_OPTIONS);
    const registry = this.moduleRef.get(MessageHandlerRegistry);
    const invokers = this.moduleRef.get(HandlerInvokerFactory);
    registry.clear();
    for (const definition of selectHandlers(this.moduleRef.get(MessageHandlerExplorer).explore(), options.builtins)) {
      registry.register(invokers.create(definition));
    }
    this.moduleRef.get(RealtimeEventExplorer).explore();
  }

  onModuleDestroy(): void {
    this.moduleRef.get(EventPublisher).complete();
  }
}

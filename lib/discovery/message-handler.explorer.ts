import { Injectable, Logger } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '../internal/nest-internals.js';
import { Messages } from '../realtime.messages.js';
import type { MessageHandlerDefinition } from './message-handler.definition.js';
import { RealtimeMetadataAccessor } from './realtime-metadata.accessor.js';
import { scanMethods } from '../utils/scan-methods.js';

/**
 * Walks every provider and controller of the application (like `@nestjs/schedule`'s explorer)
 * and returns the `@OnMessage` bindings it finds. Runs once, at bootstrap.
 */
@Injectable()
export class MessageHandlerExplorer {
  private readonly logger = new Logger('RealtimeModule');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: RealtimeMetadataAccessor,
  ) {}

  explore(): MessageHandlerDefinition[] {
    const found: MessageHandlerDefinition[] = [];
    scanMethods(this.discovery, this.scanner, ({ wrapper, instance, methodName, method, label }) => {
      const bindings = this.accessor.getMessageHandlers(method);
      if (!bindings?.length) return;
      this.refuseScoped(wrapper, label);
      // The module's own handlers (marked `@BuiltinHandlers()`) yield to an application handler.
      const builtin = this.accessor.isBuiltin(instance.constructor);
      for (const { type, reply, concurrent } of bindings) {
        // Built-ins take part in the connection's order whatever their metadata says.
        found.push({ type, reply, concurrent: concurrent && !builtin, instance, methodName, label, builtin });
      }
    });
    this.logger.debug(`Discovered ${found.length} message handler(s)`);
    return found;
  }

  /**
   * A request- or transient-scoped provider has no single instance to route to: there is no HTTP
   * request per WebSocket message. Refuse it at start-up rather than route to a stale instance.
   */
  private refuseScoped(wrapper: InstanceWrapper, label: string): void {
    if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
      throw new Error(Messages.requestScopedHandler(label));
    }
  }
}

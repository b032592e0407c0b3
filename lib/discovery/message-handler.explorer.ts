import { Injectable, Logger } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { Messages } from '../realtime.messages.js';
import { AuthMessageHandler } from '../auth/auth-message.handler.js';
import { BuiltinMessageHandlers } from '../builtins/builtin-message.handlers.js';
import type { MessageHandlerDefinition } from './message-handler.definition.js';
import { RealtimeMetadataAccessor } from './realtime-metadata.accessor.js';

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
    const wrappers = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    const seen = new Set<object>();
    const found: MessageHandlerDefinition[] = [];
    for (const wrapper of wrappers) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || seen.has(instance)) continue;
      const prototype = Object.getPrototypeOf(instance);
      if (!prototype) continue;
      seen.add(instance);
      for (const methodName of this.scanner.getAllMethodNames(prototype)) {
        const method = prototype[methodName];
        const bindings = typeof method === 'function' ? this.accessor.getMessageHandlers(method) : undefined;
        if (!bindings?.length) continue;
        const label = `${prototype.constructor?.name ?? 'Object'}.${methodName}`;
        this.refuseScoped(wrapper, label);
        for (const { type, reply } of bindings) {
          found.push({
            type,
            reply,
            instance,
            methodName,
            label,
            builtin: instance instanceof BuiltinMessageHandlers || instance instanceof AuthMessageHandler,
          });
        }
      }
    }
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

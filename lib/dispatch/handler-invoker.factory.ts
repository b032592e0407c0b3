import { Inject, Injectable } from '@nestjs/common';
import { ExternalContextCreator, Reflector } from '@nestjs/core';
import { ExecutionContextHost, ROUTE_ARGS_METADATA } from '../internal/nest-internals.js';
import { IS_PUBLIC_METADATA } from '../realtime.constants.js';
import { RealtimeAuthGuard } from '../guards/realtime-auth.guard.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import type { MessageHandlerDefinition } from '../discovery/message-handler.definition.js';
import type { HandlerInvoker, RegisteredHandler } from '../discovery/message-handler.registry.js';
import type { Envelope } from '../protocol/envelope.js';
import { REALTIME_CONTEXT_TYPE, RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { type DirectParam, probeDirectCall } from './enhancer.probe.js';
import { extractParam, RealtimeParamsFactory } from './realtime-params.factory.js';

type Method = (...args: unknown[]) => unknown;

function createDirectInvoker(instance: object, method: Method, params: DirectParam[]): HandlerInvoker {
  // Without parameter decorators a handler receives what Nest's pipeline would pass it:
  // (connection, data, message, type).
  if (params.length === 0) {
    return (connection, message) => method.call(instance, connection, message.data, message, message.type);
  }
  const [first, second] = params;
  if (params.length === 1 && first.index === 0) {
    return (connection, message) =>
      method.call(instance, extractParam(first.type, first.data as string, connection, message.data, message));
  }
  if (params.length === 2 && first.index === 0 && second.index === 1) {
    return (connection, message) =>
      method.call(
        instance,
        extractParam(first.type, first.data as string, connection, message.data, message),
        extractParam(second.type, second.data as string, connection, message.data, message),
      );
  }
  const length = params[params.length - 1].index + 1;
  return (connection: RealtimeConnection, message: Envelope) => {
    const args = new Array<unknown>(length);
    for (const param of params) {
      args[param.index] = extractParam(param.type, param.data as string, connection, message.data, message);
    }
    return method.apply(instance, args);
  };
}

/**
 * Turns a discovered `@OnMessage` binding into something the dispatcher can call, once, at
 * bootstrap. Handlers with guards, interceptors, pipes or filters (at any level, global included)
 * are wrapped by Nest's `ExternalContextCreator` with context type `'ws'`, exactly like
 * `@nestjs/graphql` resolvers; the others are called directly.
 */
@Injectable()
export class HandlerInvokerFactory {
  private readonly paramsFactory = new RealtimeParamsFactory();

  constructor(
    private readonly externalContextCreator: ExternalContextCreator,
    private readonly reflector: Reflector,
    private readonly authGuard: RealtimeAuthGuard,
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {}

  create(definition: MessageHandlerDefinition): RegisteredHandler {
    const handler = this.createUnguarded(definition);
    return this.requiresAuthentication(definition) ? this.withAuthGuard(definition, handler) : handler;
  }

  /** Whether the global authentication guard applies: auth required and the handler not @Public(). */
  private requiresAuthentication(definition: MessageHandlerDefinition): boolean {
    if (!this.options.auth?.required) return false;
    const method = (definition.instance as Record<string, Method>)[definition.methodName];
    return !this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_METADATA, [method, definition.instance.constructor]);
  }

  /**
   * Runs the global {@link RealtimeAuthGuard} before the handler and its own enhancers, the way
   * Nest runs global guards before controller and method guards. Its result is synchronous, so
   * a direct handler stays synchronous (and its reply in the same tick).
   */
  private withAuthGuard(definition: MessageHandlerDefinition, handler: RegisteredHandler): RegisteredHandler {
    const guard = this.authGuard;
    const classRef = definition.instance.constructor as never;
    const method = (definition.instance as Record<string, Method>)[definition.methodName];
    const inner = handler.invoke;
    return {
      ...handler,
      invoke: (connection, message) => {
        const context = new ExecutionContextHost([connection, message.data, message, message.type], classRef, method);
        context.setType(REALTIME_CONTEXT_TYPE);
        guard.canActivate(context);
        return inner(connection, message);
      },
    };
  }

  private createUnguarded(definition: MessageHandlerDefinition): RegisteredHandler {
    const instance = definition.instance;
    const method = (instance as Record<string, Method>)[definition.methodName];
    const direct = probeDirectCall(this.externalContextCreator, instance, definition.methodName);
    if (direct) {
      return { ...definition, direct: true, invoke: createDirectInvoker(instance, method, direct) };
    }
    const wrapped = this.externalContextCreator.create(
      instance,
      method,
      definition.methodName,
      ROUTE_ARGS_METADATA,
      this.paramsFactory,
      undefined,
      undefined,
      { guards: true, interceptors: true, filters: true },
      REALTIME_CONTEXT_TYPE,
    );
    return {
      ...definition,
      direct: false,
      invoke: (connection, message) => wrapped(connection, message.data, message, message.type),
    };
  }
}

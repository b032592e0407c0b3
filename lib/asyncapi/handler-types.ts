import { RealtimeParamType } from '../decorators/param.decorators.js';
import { ROUTE_ARGS_METADATA } from '../internal/nest-internals.js';

/** What a handler method's signature says about the message's `data` and its reply. */
export interface HandlerTypes {
  /** The design type of a parameter that takes the whole `data` (`@MessageData()`, `@MessageBody()`). */
  data?: unknown;
  /** Design types of parameters that take one property of `data` (`@MessageData('token')`), by property. */
  properties: Map<string, unknown>;
  /** The method's declared return type (`Promise` for an async method). */
  returns: unknown;
}

interface RouteArgument {
  index: number;
  data?: unknown;
}

/**
 * Reads the types TypeScript recorded for a handler (`emitDecoratorMetadata`, which Nest apps
 * compile with) at the parameters our parameter decorators, and `@nestjs/websockets`'
 * `@MessageBody()`, mark as the message's `data` — the same metadata Nest's pipes see, so the
 * DTO a `ValidationPipe` validates is the DTO the document describes.
 */
export function handlerTypes(instance: object, methodName: string): HandlerTypes {
  const prototype = Object.getPrototypeOf(instance) as object;
  const parameterTypes: unknown[] = Reflect.getMetadata('design:paramtypes', prototype, methodName) ?? [];
  const routeArguments: Record<string, RouteArgument> =
    Reflect.getMetadata(ROUTE_ARGS_METADATA, instance.constructor, methodName) ?? {};
  const types: HandlerTypes = {
    properties: new Map(),
    returns: Reflect.getMetadata('design:returntype', prototype, methodName),
  };
  // In parameter order (decorators record them last parameter first).
  const entries = Object.entries(routeArguments).sort(([, a], [, b]) => a.index - b.index);
  for (const [key, { index, data: property }] of entries) {
    // Keys are `${paramtype}:${index}`; custom decorators' paramtypes are not numbers.
    if (Number(key.split(':')[0]) !== RealtimeParamType.DATA) continue;
    if (typeof property === 'string') types.properties.set(property, parameterTypes[index]);
    else types.data = parameterTypes[index];
  }
  return types;
}

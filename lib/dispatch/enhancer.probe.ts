import type { ExternalContextCreator } from '@nestjs/core';
import {
  countGlobalEnhancers,
  CUSTOM_ROUTE_ARGS_METADATA,
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
  ROUTE_ARGS_METADATA,
} from '../internal/nest-internals.js';

function hasAny(key: string, targets: object[]): boolean {
  return targets.some((target) => {
    const value: unknown = Reflect.getMetadata(key, target);
    return Array.isArray(value) && value.length > 0;
  });
}

/** One parameter of a handler, as recorded by our (or Nest's websocket) parameter decorators. */
export interface DirectParam {
  index: number;
  type: number;
  data: unknown;
}

/**
 * Returns the parameters of a handler that can be called directly — no guard, interceptor, pipe
 * or exception filter applies to it at any level (global, class, method, parameter) and it uses no
 * custom parameter decorator — or `undefined` when it must go through Nest's pipeline.
 *
 * Why bother: Nest's pipeline wraps every call in several promises even when it has nothing to
 * run, which costs CPU per message and delays the reply by microtasks. A handler with nothing
 * attached gains nothing from it.
 */
export function probeDirectCall(
  ecc: ExternalContextCreator,
  instance: object,
  methodName: string,
): DirectParam[] | undefined {
  // Only a positive "none" lets a handler skip the pipeline: an unknown shape counts as some.
  if (countGlobalEnhancers(ecc) !== 0) return undefined;
  const classRef = instance.constructor;
  const method = (instance as Record<string, object>)[methodName];
  const targets = [classRef, method];
  if (
    hasAny(GUARDS_METADATA, targets) ||
    hasAny(INTERCEPTORS_METADATA, targets) ||
    hasAny(PIPES_METADATA, targets) ||
    hasAny(EXCEPTION_FILTERS_METADATA, targets)
  ) {
    return undefined;
  }
  const args: Record<string, { index: number; data?: unknown; pipes?: unknown[] }> =
    Reflect.getMetadata(ROUTE_ARGS_METADATA, classRef, methodName) ?? {};
  const params: DirectParam[] = [];
  for (const [key, meta] of Object.entries(args)) {
    if (key.includes(CUSTOM_ROUTE_ARGS_METADATA) || (meta.pipes?.length ?? 0) > 0) return undefined;
    params.push({ index: meta.index, type: Number(key.split(':')[0]), data: meta.data });
  }
  return params.sort((a, b) => a.index - b.index);
}

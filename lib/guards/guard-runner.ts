import type { CanActivate, Type } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import { ExecutionContextHost } from '../internal/nest-internals.js';
import { REALTIME_CONTEXT_TYPE } from '../realtime.constants.js';

/**
 * A guard given in the options, as an instance or a class: a class the app registered as a
 * provider is used as is; otherwise Nest builds one with its dependencies.
 */
export async function instantiateGuard(
  moduleRef: ModuleRef,
  guard: Type<CanActivate> | CanActivate,
): Promise<CanActivate> {
  if (typeof guard !== 'function') return guard;
  try {
    return moduleRef.get(guard, { strict: false });
  } catch {
    return moduleRef.create(guard);
  }
}

/** A `'ws'` execution context over `args`, for guards run outside a message handler. */
export function realtimeContext(
  args: unknown[],
  classRef: Type<unknown>,
  handler: (...args: never[]) => unknown,
): ExecutionContextHost {
  const context = new ExecutionContextHost(args, classRef, handler);
  context.setType(REALTIME_CONTEXT_TYPE);
  return context;
}

/** Runs one guard to a boolean, whatever it returns (boolean, Promise or Observable). */
export async function runGuard(guard: CanActivate, context: ExecutionContextHost): Promise<boolean> {
  const result = guard.canActivate(context);
  return isObservable(result) ? lastValueFrom(result) : result;
}

import type { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '../internal/nest-internals.js';

/** One method of a provider or controller instance, as the explorers see it. */
export interface ScannedMethod {
  wrapper: InstanceWrapper;
  instance: object;
  methodName: string;
  method: (...args: unknown[]) => unknown;
  /** `ClassName.methodName`, for messages. */
  label: string;
}

/**
 * Visits every method of every provider and controller instance once (an instance exported
 * under several tokens is visited once), the way `@nestjs/schedule`'s explorer walks the app.
 */
export function scanMethods(
  discovery: DiscoveryService,
  scanner: MetadataScanner,
  visit: (method: ScannedMethod) => void,
): void {
  const seen = new Set<object>();
  for (const wrapper of [...discovery.getProviders(), ...discovery.getControllers()]) {
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    if (!instance || typeof instance !== 'object' || seen.has(instance)) continue;
    const prototype = Object.getPrototypeOf(instance);
    if (!prototype) continue;
    seen.add(instance);
    for (const methodName of scanner.getAllMethodNames(prototype)) {
      const method = prototype[methodName];
      if (typeof method !== 'function') continue;
      visit({
        wrapper,
        instance,
        methodName,
        method,
        label: `${prototype.constructor?.name ?? 'Object'}.${methodName}`,
      });
    }
  }
}

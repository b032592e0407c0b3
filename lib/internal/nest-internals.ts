/**
 * Every use of Nest's non-public API, in one place. Each one is here because Nest has no public
 * equivalent; `test/unit/internal/nest-internals.spec.ts` pins what we rely on for the installed
 * Nest, so a Nest upgrade that changes any of it fails that test instead of the app at run time.
 *
 * `@nestjs/common/internal` and `@nestjs/core/internal` are the entries Nest's own sibling
 * packages (`@nestjs/websockets`, `@nestjs/microservices`) import these from: declared in their
 * package.json `exports`, so sturdier than deep file paths, but marked `@internal` by Nest.
 */
import { ApplicationConfig, type ExternalContextCreator } from '@nestjs/core';

/**
 * Metadata keys under which Nest's decorators record parameters (`createParamDecorator`,
 * `@MessageBody()`…) and enhancers (`@UseGuards()`, `@UseInterceptors()`, `@UsePipes()`,
 * `@UseFilters()`). If Nest renamed one, our parameter decorators would record under a key Nest
 * no longer reads, and the direct-call probe would not see an enhancer: the pinning test checks
 * each one against what Nest's own decorators write.
 */
export {
  CUSTOM_ROUTE_ARGS_METADATA,
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
  ROUTE_ARGS_METADATA,
} from '@nestjs/common/internal';

/**
 * The `ExecutionContext` implementation Nest passes to guards and interceptors. We build one to
 * run connection and join guards outside a handler call; if its constructor changed, those
 * guards would see a wrong `switchToWs()`.
 */
export { ExecutionContextHost } from '@nestjs/core/internal';

/** What `DiscoveryService.getProviders()` returns; Nest's public typings do not export it. */
export type { InstanceWrapper } from '@nestjs/core/internal';

/** The getters of `ApplicationConfig` that hold global enhancers, as of Nest 12. */
export const GLOBAL_ENHANCER_GETTERS = [
  'getGlobalGuards',
  'getGlobalRequestGuards',
  'getGlobalInterceptors',
  'getGlobalRequestInterceptors',
  'getGlobalPipes',
  'getGlobalRequestPipes',
  'getGlobalFilters',
  'getGlobalRequestFilters',
] as const;

/** `ApplicationConfig`'s other `getGlobal*` getters, known not to hold handler enhancers. */
export const OTHER_GLOBAL_GETTERS = ['getGlobalPrefix', 'getGlobalPrefixOptions', 'getGlobalPreRequestHooks'] as const;

/** The fields of `ExternalContextCreator` that create a handler's enhancers, as of Nest 12. */
const ENHANCER_CONTEXT_CREATORS = [
  'guardsContextCreator',
  'interceptorsContextCreator',
  'pipesContextCreator',
  'filtersContextCreator',
] as const;

/** Every field of an `ExternalContextCreator` of Nest 12: the enhancer creators and helpers. */
export const EXTERNAL_CONTEXT_CREATOR_FIELDS = [
  ...ENHANCER_CONTEXT_CREATORS,
  'guardsConsumer',
  'interceptorsConsumer',
  'pipesConsumer',
  'modulesContainer',
  'contextUtils',
  'externalErrorProxy',
  'handlerMetadataStorage',
  'container',
] as const;

function getterNames(config: object): Set<string> {
  const names = new Set<string>();
  for (let proto: object | null = config; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name.startsWith('getGlobal') && typeof (config as Record<string, unknown>)[name] === 'function') {
        names.add(name);
      }
    }
  }
  return names;
}

function sameSet(actual: Iterable<string>, expected: readonly string[]): boolean {
  const set = new Set(actual);
  return set.size === expected.length && expected.every((name) => set.has(name));
}

/**
 * How many global enhancers (`useGlobalGuards()`, `APP_GUARD`, … for guards, interceptors, pipes
 * and filters, singleton or request-scoped) the application has, read from the
 * `ExternalContextCreator`'s private configuration — Nest has no public accessor for them.
 *
 * Fails closed: returns `undefined` unless the creator and its configuration have exactly the
 * shape we know — the same four enhancer creators sharing one `ApplicationConfig` whose
 * `getGlobal*` getters are exactly the ones listed above. A Nest version that adds a source of
 * enhancers (a new creator, a new getter) therefore makes every handler take Nest's full
 * pipeline, which is always correct, instead of silently skipping a global guard. Callers must
 * treat `undefined` as "there may be enhancers".
 */
export function countGlobalEnhancers(ecc: ExternalContextCreator): number | undefined {
  if (!sameSet(Object.keys(ecc), EXTERNAL_CONTEXT_CREATOR_FIELDS)) return undefined;
  const fields = ecc as unknown as Record<string, { config?: unknown } | undefined>;
  const config = fields.guardsContextCreator?.config;
  if (!(config instanceof ApplicationConfig)) return undefined;
  if (ENHANCER_CONTEXT_CREATORS.some((field) => fields[field]?.config !== config)) return undefined;
  if (!sameSet(getterNames(config), [...GLOBAL_ENHANCER_GETTERS, ...OTHER_GLOBAL_GETTERS])) return undefined;
  let count = 0;
  for (const getter of GLOBAL_ENHANCER_GETTERS) {
    const enhancers: unknown = (config[getter] as () => unknown)();
    if (!Array.isArray(enhancers)) return undefined;
    count += enhancers.length;
  }
  return count;
}

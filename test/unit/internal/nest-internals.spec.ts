import 'reflect-metadata';
import {
  createParamDecorator,
  Injectable,
  type CanActivate,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
} from '@nestjs/common';
import { ApplicationConfig, DiscoveryModule, DiscoveryService, ExternalContextCreator } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { ConnectedSocket, MessageBody } from '@nestjs/websockets';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  countGlobalEnhancers,
  CUSTOM_ROUTE_ARGS_METADATA,
  EXCEPTION_FILTERS_METADATA,
  ExecutionContextHost,
  EXTERNAL_CONTEXT_CREATOR_FIELDS,
  GLOBAL_ENHANCER_GETTERS,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  OTHER_GLOBAL_GETTERS,
  PIPES_METADATA,
  ROUTE_ARGS_METADATA,
} from '../../../lib/internal/nest-internals.js';

/**
 * Pins every piece of Nest's non-public API that lib/internal/nest-internals.ts relies on, for
 * the installed Nest. A failure here after a Nest upgrade means that file needs a look: the
 * direct-call probe (a skipped global guard would be a security hole) and our parameter
 * decorators depend on it.
 */
class Enhancer {}
const Custom = createParamDecorator(() => 'custom');

class Decorated {
  @UseGuards(Enhancer as never)
  @UseInterceptors(Enhancer as never)
  @UsePipes(Enhancer as never)
  @UseFilters(Enhancer as never)
  handler(@MessageBody() _body: unknown, @ConnectedSocket() _socket: unknown, @Custom() _custom: unknown): void {}
}

@Injectable()
class SomeProvider {}

describe('Nest internals (lib/internal/nest-internals.ts)', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  async function externalContextCreator(): Promise<{
    ecc: ExternalContextCreator;
    app: Awaited<ReturnType<typeof createApp>>;
  }> {
    const app = await createApp();
    close = () => app.close();
    return { ecc: app.get(ExternalContextCreator), app };
  }

  async function createApp() {
    const moduleRef = await Test.createTestingModule({
      imports: [DiscoveryModule],
      providers: [SomeProvider],
    }).compile();
    return moduleRef.createNestApplication({ logger: false });
  }

  it('ExternalContextCreator has exactly the fields the probe knows, its enhancer creators share one ApplicationConfig', async () => {
    const { ecc } = await externalContextCreator();
    expect(Object.keys(ecc).sort()).toEqual([...EXTERNAL_CONTEXT_CREATOR_FIELDS].sort());
    const fields = ecc as unknown as Record<string, { config?: unknown }>;
    const config = fields.guardsContextCreator.config;
    expect(config).toBeInstanceOf(ApplicationConfig);
    for (const field of ['interceptorsContextCreator', 'pipesContextCreator', 'filtersContextCreator']) {
      expect(fields[field].config).toBe(config);
    }
  });

  it("ApplicationConfig's getGlobal* getters are exactly the known ones", () => {
    const names = Object.getOwnPropertyNames(ApplicationConfig.prototype).filter((name) =>
      name.startsWith('getGlobal'),
    );
    expect(names.sort()).toEqual([...GLOBAL_ENHANCER_GETTERS, ...OTHER_GLOBAL_GETTERS].sort());
  });

  it('counts global enhancers: none, then each kind added with useGlobal*()', async () => {
    const { ecc, app } = await externalContextCreator();
    expect(countGlobalEnhancers(ecc)).toBe(0);
    app.useGlobalGuards({ canActivate: () => true } as CanActivate);
    expect(countGlobalEnhancers(ecc)).toBe(1);
    app.useGlobalInterceptors({ intercept: (_c, next) => next.handle() });
    app.useGlobalPipes({ transform: (value: unknown) => value });
    app.useGlobalFilters({ catch: () => undefined });
    expect(countGlobalEnhancers(ecc)).toBe(4);
  });

  describe('fails closed on a shape it does not know', () => {
    it('an ExternalContextCreator with a field more (a new source of enhancers)', async () => {
      const { ecc } = await externalContextCreator();
      const changed = Object.assign(Object.create(ExternalContextCreator.prototype) as object, ecc, {
        policiesContextCreator: {},
      }) as ExternalContextCreator;
      expect(countGlobalEnhancers(changed)).toBeUndefined();
    });

    it('an ApplicationConfig with a getGlobal* getter more', async () => {
      const { ecc } = await externalContextCreator();
      class ExtendedConfig extends ApplicationConfig {
        getGlobalPolicies(): unknown[] {
          return [{}];
        }
      }
      const config = new ExtendedConfig();
      const creators = [
        'guardsContextCreator',
        'interceptorsContextCreator',
        'pipesContextCreator',
        'filtersContextCreator',
      ];
      const changed = Object.assign(Object.create(ExternalContextCreator.prototype) as object, ecc) as Record<
        string,
        unknown
      >;
      for (const field of creators) changed[field] = { config };
      expect(countGlobalEnhancers(changed as unknown as ExternalContextCreator)).toBeUndefined();
    });

    it('enhancer creators that do not share one configuration, or a configuration of another class', async () => {
      const { ecc } = await externalContextCreator();
      const split = Object.assign(Object.create(ExternalContextCreator.prototype) as object, ecc, {
        pipesContextCreator: { config: new ApplicationConfig() },
      }) as ExternalContextCreator;
      expect(countGlobalEnhancers(split)).toBeUndefined();
      const plain = { getGlobalGuards: () => [] };
      const foreign = Object.assign(Object.create(ExternalContextCreator.prototype) as object, ecc, {
        guardsContextCreator: { config: plain },
        interceptorsContextCreator: { config: plain },
        pipesContextCreator: { config: plain },
        filtersContextCreator: { config: plain },
      }) as ExternalContextCreator;
      expect(countGlobalEnhancers(foreign)).toBeUndefined();
    });
  });

  it("Nest's decorators record enhancers and parameters under the keys we read", () => {
    const method = Decorated.prototype.handler;
    for (const key of [GUARDS_METADATA, INTERCEPTORS_METADATA, PIPES_METADATA, EXCEPTION_FILTERS_METADATA]) {
      expect(Reflect.getMetadata(key, method)).toEqual([Enhancer]);
    }
    const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, Decorated, 'handler') as Record<string, { index: number }>;
    const keys = Object.keys(args);
    expect(keys).toHaveLength(3);
    // `${paramtype}:${index}` for built-in parameter types, a key containing the custom marker otherwise.
    expect(keys.filter((key) => key.includes(CUSTOM_ROUTE_ARGS_METADATA))).toHaveLength(1);
    for (const key of keys.filter((key) => !key.includes(CUSTOM_ROUTE_ARGS_METADATA))) {
      expect(key).toMatch(/^\d+:\d+$/);
      expect(Number(key.split(':')[1])).toBe(args[key].index);
    }
  });

  it('ExecutionContextHost takes (args, class, handler) and gives ws access by argument position', () => {
    const handler = (): void => undefined;
    const context = new ExecutionContextHost(['client', 'data', 'message', 'type'], Decorated, handler);
    context.setType('ws');
    expect(context.getType()).toBe('ws');
    expect(context.getClass()).toBe(Decorated);
    expect(context.getHandler()).toBe(handler);
    const ws = context.switchToWs();
    expect([ws.getClient(), ws.getData(), ws.getPattern()]).toEqual(['client', 'data', 'type']);
  });

  it('DiscoveryService gives InstanceWrappers with the members the explorer reads', async () => {
    const { app } = await externalContextCreator();
    await app.init();
    const wrapper = app
      .get(DiscoveryService)
      .getProviders()
      .find((candidate) => candidate.metatype === SomeProvider);
    expect(wrapper?.instance).toBeInstanceOf(SomeProvider);
    expect(wrapper?.isDependencyTreeStatic()).toBe(true);
    expect(wrapper?.isTransient).toBe(false);
  });
});

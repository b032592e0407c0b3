import { ConfigurableModuleBuilder, type ModuleMetadata, type Provider, type Type } from '@nestjs/common';
import { ClaimsUserProvider } from './auth/claims-user.provider.js';
import { JwtTokenValidator } from './auth/jwt-token.validator.js';
import { TokenValidator } from './auth/token-validator.js';
import { UserProvider } from './auth/user-provider.js';
import type { RealtimeModuleOptions } from './interfaces/realtime-options.interface.js';
import { AllowAllJoinPolicy, RoomJoinPolicy } from './rooms/room-join.policy.js';
import { metricsProviders, metricTokens } from './metrics/metrics.providers.js';
import { REALTIME_EXPORTS, REALTIME_PROVIDERS } from './realtime.providers.js';

/**
 * Module-level settings that are classes for Nest to build (with DI), not values: they are
 * given next to the options, in `forRoot({ ... })` and `forRootAsync({ ... })` alike.
 */
export interface RealtimeModuleExtras {
  /**
   * Makes the module's services (`RoomManager`, `ConnectionManager`, ...) injectable in every
   * module without importing anything, like `EventEmitterModule`. `false` keeps them to the
   * importing module (re-export it from a shared module to reach others). @default true
   */
  isGlobal?: boolean;
  /** Replaces the default JWT validator. */
  tokenValidator?: Type<TokenValidator>;
  /** Replaces the default claims-based user provider (e.g. a database lookup). */
  userProvider?: Type<UserProvider>;
  /**
   * Prometheus metrics (`websocket_*`, through `@willsoto/nestjs-prometheus` into prom-client's
   * registry, shared with the app's own `PrometheusModule`). @default true
   */
  metrics?: boolean;
  /** Replaces the default join policy (everyone may join every room). */
  joinPolicy?: Type<RoomJoinPolicy>;
  /**
   * Modules whose exports `tokenValidator`, `userProvider` and connection guard classes inject
   * (with `forRootAsync`, its `imports` serve as well).
   */
  imports?: ModuleMetadata['imports'];
}

export const {
  ConfigurableModuleClass: ConfigurableRealtimeModule,
  MODULE_OPTIONS_TOKEN: REALTIME_MODULE_OPTIONS,
  OPTIONS_TYPE: REALTIME_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: REALTIME_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<RealtimeModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<RealtimeModuleExtras>({ isGlobal: true, metrics: true }, (definition, extras) => {
    const metrics = extras.metrics !== false;
    const providers: Provider[] = [
      ...REALTIME_PROVIDERS,
      { provide: TokenValidator, useClass: extras.tokenValidator ?? JwtTokenValidator },
      { provide: UserProvider, useClass: extras.userProvider ?? ClaimsUserProvider },
      { provide: RoomJoinPolicy, useClass: extras.joinPolicy ?? AllowAllJoinPolicy },
      ...metricsProviders(metrics),
    ];
    return {
      ...definition,
      global: extras.isGlobal,
      imports: [...(definition.imports ?? []), ...(extras.imports ?? [])],
      providers: [...(definition.providers ?? []), ...providers],
      exports: [
        ...(definition.exports ?? []),
        ...REALTIME_EXPORTS,
        TokenValidator,
        UserProvider,
        RoomJoinPolicy,
        ...metricTokens(metrics),
      ],
    };
  })
  .build();

import { type DynamicModule, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';

/** One of the metrics `collectDefaultMetrics()` registers. */
const DEFAULT_METRIC = 'process_cpu_user_seconds_total';

/**
 * `GET /metrics`: `PrometheusModule`'s own controller, serving prom-client's default registry —
 * where `RealtimeModule` registers its `websocket_*` metrics (through willsoto's providers, so
 * one registry holds both) — with Node's default process metrics on (`process_*`, `nodejs_*`).
 */
@Module({})
export class MetricsModule {
  static register(): DynamicModule {
    return {
      module: MetricsModule,
      imports: [
        PrometheusModule.register({
          // The default metrics describe the process, and prom-client refuses to register them
          // twice: a second app in the same process (two nodes of a test cluster, tests that
          // start the app again) serves the ones the first registered.
          defaultMetrics: { enabled: register.getSingleMetric(DEFAULT_METRIC) === undefined },
        }),
      ],
    };
  }
}

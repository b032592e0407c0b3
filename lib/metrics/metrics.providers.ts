import type { Provider } from '@nestjs/common';
// The metrics entry of @willsoto/nestjs-prometheus rather than its main entry: the main entry is
// CommonJS that require()s the ESM-only @nestjs/common, which Node >= 20.19 allows but Jest's
// module runtime (before Node 24.9) does not. The metric factories need nothing from Nest.
import {
  getToken,
  makeCounterProvider,
  makeGaugeProvider,
  makeHistogramProvider,
} from '@willsoto/nestjs-prometheus/dist/metrics/index.js';
import type { Histogram } from 'prom-client';
import { MessageLatency, NoMessageLatency } from './message-latency.js';
import { COUNTER_DEFINITIONS, GAUGE_DEFINITIONS, LATENCY_BUCKETS, METRIC } from './metric-definitions.js';

/** The latency histogram as the dispatcher's {@link MessageLatency}. */
class HistogramLatency extends MessageLatency {
  readonly enabled = true;

  constructor(private readonly histogram: Histogram<string>) {
    super();
  }

  observe(seconds: number): void {
    this.histogram.observe(seconds);
  }
}

/**
 * The metric providers, through `@willsoto/nestjs-prometheus`: each is created or, when another
 * app in the process (or the app's own `PrometheusModule`) already registered it, reused from
 * prom-client's registry, so two apps in one process do not collide. Injectable with
 * `@InjectMetric('websocket_active_connections')`.
 */
export function metricsProviders(enabled: boolean): Provider[] {
  if (!enabled) return [{ provide: MessageLatency, useClass: NoMessageLatency }];
  return [
    ...COUNTER_DEFINITIONS.map((definition) => makeCounterProvider(definition)),
    ...GAUGE_DEFINITIONS.map((definition) => makeGaugeProvider(definition)),
    makeHistogramProvider({
      name: METRIC.messageLatency,
      help: 'Time from a message to its reply or error: guards, pipes, interceptors and handler',
      buckets: LATENCY_BUCKETS,
    }),
    {
      provide: MessageLatency,
      useFactory: (histogram: Histogram<string>) => new HistogramLatency(histogram),
      inject: [getToken(METRIC.messageLatency)],
    },
  ];
}

/** Tokens of the metric providers, to export them from the module. */
export function metricTokens(enabled: boolean): string[] {
  return enabled ? Object.values(METRIC).map((name) => getToken(name)) : [];
}

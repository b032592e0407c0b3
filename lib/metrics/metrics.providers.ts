import type { Provider } from '@nestjs/common';
import { RealtimeStats } from '../stats/realtime-stats.js';
import { getToken, makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import { registerScrapedMetric, type ScrapedMetric } from '../internal/prometheus.js';
import { MessageLatency, NoMessageLatency } from '../stats/message-latency.js';
import { COUNTER_DEFINITIONS, GAUGE_DEFINITIONS, latencySamples, METRIC } from './metric-definitions.js';

/** The dispatcher's latency sink: the node's stats, read by the histogram when scraped. */
class StatsLatency extends MessageLatency {
  readonly enabled = true;

  constructor(private readonly stats: RealtimeStats) {
    super();
  }

  observe(seconds: number): void {
    this.stats.observeLatency(seconds);
  }
}

/**
 * `websocket_message_latency_seconds` as a prom-client custom metric over the stats' bucket
 * counts. prom-client's own Histogram costs a closure and a label hash per `observe()` (~7% of
 * an echo round trip here); counting into a typed array and exporting on scrape costs ~1%.
 */
class LatencyHistogramMetric implements ScrapedMetric {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly help = 'Time from a message to its reply or error: guards, pipes, interceptors and handler';

  constructor(readonly name: string) {}

  get(): ReturnType<ScrapedMetric['get']> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: latencySamples(this.name),
    };
  }

  reset(): void {}
}

/** Created or reused, like willsoto's providers: two apps in one process share the metric. */
function latencyHistogram(): LatencyHistogramMetric {
  return registerScrapedMetric(METRIC.messageLatency, () => new LatencyHistogramMetric(METRIC.messageLatency));
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
    { provide: getToken(METRIC.messageLatency), useFactory: latencyHistogram },
    { provide: MessageLatency, useFactory: (stats: RealtimeStats) => new StatsLatency(stats), inject: [RealtimeStats] },
  ];
}

/** Tokens of the metric providers, to export them from the module. */
export function metricTokens(enabled: boolean): string[] {
  return enabled ? Object.values(METRIC).map((name) => getToken(name)) : [];
}

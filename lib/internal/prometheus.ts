/**
 * The one use of prom-client beyond its documented API: a metric object of our own whose samples
 * are computed when Prometheus scrapes. prom-client documents only its own metric classes, but
 * its `Registry` asks every registered metric for the same things — `name` (unique per
 * registry), `get()` returning `{ name, help, type, aggregator, values }` where each value is
 * `{ labels, value, metricName? }`, and `reset()` — which is what we implement. If a prom-client
 * version asked for more, `/metrics` would lose or break that metric:
 * `test/unit/internal/prometheus.spec.ts` pins the output for the installed prom-client.
 */
import { register, type Registry } from 'prom-client';

/** One sample: `metricName` names a series of a histogram (`_bucket`, `_sum`, `_count`). */
export interface ScrapedSample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** A metric computed at scrape time, in the shape prom-client's registry reads. */
export interface ScrapedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  /** How prom-client's `AggregatorRegistry` combines the metric over cluster workers. */
  readonly aggregator: 'sum';
  get(): {
    name: string;
    help: string;
    type: ScrapedMetric['type'];
    aggregator: ScrapedMetric['aggregator'];
    values: ScrapedSample[];
  };
  reset(): void;
}

/**
 * Registers `create()`'s metric, or returns the one already registered under `name` — created or
 * reused like `@willsoto/nestjs-prometheus`'s providers, so that two apps in one process share it.
 */
export function registerScrapedMetric<T extends ScrapedMetric>(
  name: string,
  create: () => T,
  registry: Registry = register,
): T {
  const existing = registry.getSingleMetric(name) as unknown as T | undefined;
  if (existing) return existing;
  const metric = create();
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  return metric;
}

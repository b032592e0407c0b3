import { describe, expect, it } from '@jest/globals';
import { getToken, makeCounterProvider, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import { AggregatorRegistry, Counter, register, Registry } from 'prom-client';
import { registerScrapedMetric, type ScrapedMetric } from '../../../lib/internal/prometheus.js';

/**
 * Pins what lib/internal/prometheus.ts relies on in the installed prom-client: a registry
 * exposes a metric object of our own (not one of prom-client's classes) from its `get()`.
 */
class FixedHistogram implements ScrapedMetric {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly help = 'A histogram computed at scrape time';
  constructor(readonly name: string) {}

  get(): ReturnType<ScrapedMetric['get']> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [
        { labels: { le: 0.1 }, value: 2, metricName: `${this.name}_bucket` },
        { labels: { le: '+Inf' }, value: 3, metricName: `${this.name}_bucket` },
        { labels: {}, value: 0.5, metricName: `${this.name}_sum` },
        { labels: {}, value: 3, metricName: `${this.name}_count` },
      ],
    };
  }

  reset(): void {}
}

describe('prom-client custom metrics (lib/internal/prometheus.ts) and willsoto’s providers', () => {
  it('a registry exposes a scraped metric in the text format, with HELP and TYPE', async () => {
    const registry = new Registry();
    registerScrapedMetric('test_latency_seconds', () => new FixedHistogram('test_latency_seconds'), registry);
    expect((await registry.metrics()).split('\n')).toEqual([
      '# HELP test_latency_seconds A histogram computed at scrape time',
      '# TYPE test_latency_seconds histogram',
      'test_latency_seconds_bucket{le="0.1"} 2',
      'test_latency_seconds_bucket{le="+Inf"} 3',
      'test_latency_seconds_sum 0.5',
      'test_latency_seconds_count 3',
      '',
    ]);
  });

  it('is created once and then reused, so two apps in one process share it', () => {
    const registry = new Registry();
    const first = registerScrapedMetric('test_shared', () => new FixedHistogram('test_shared'), registry);
    const second = registerScrapedMetric('test_shared', () => new FixedHistogram('test_shared'), registry);
    expect(second).toBe(first);
    expect(registry.getSingleMetric('test_shared')).toBe(first as unknown);
  });

  it('sums over cluster workers with prom-client’s aggregator', async () => {
    const registry = new Registry();
    registerScrapedMetric('test_summed', () => new FixedHistogram('test_summed'), registry);
    const json = await registry.getMetricsAsJSON();
    const merged = AggregatorRegistry.aggregate([json, json]);
    expect(await merged.getSingleMetricAsString('test_summed')).toContain('test_summed_count 6');
  });

  it('the factories make created-or-reused providers under the token @InjectMetric() uses', () => {
    expect(getToken('websocket_test_total')).toBe('PROM_METRIC_WEBSOCKET_TEST_TOTAL');
    const counter = makeCounterProvider({ name: 'websocket_test_total', help: 'h' });
    const gauge = makeGaugeProvider({ name: 'websocket_test_gauge', help: 'h' });
    expect(counter).toMatchObject({ provide: 'PROM_METRIC_WEBSOCKET_TEST_TOTAL', useFactory: expect.any(Function) });
    expect(gauge).toMatchObject({ provide: 'PROM_METRIC_WEBSOCKET_TEST_GAUGE', useFactory: expect.any(Function) });
  });

  it('the providers register in the prom-client registry the tests (and PrometheusModule) read', () => {
    // Under Jest on Node < 24.9 the willsoto package is an ES module bundle (nest-realtime/jest)
    // whose prom-client must be this one, or the module's metrics would vanish from /metrics.
    const name = 'websocket_shared_registry_total';
    try {
      const provider = makeCounterProvider({ name, help: 'h' }) as { useFactory: () => unknown };
      const counter = provider.useFactory();
      expect(counter).toBeInstanceOf(Counter);
      expect(register.getSingleMetric(name)).toBe(counter);
      // Created or reused: a second app's provider gets the same counter.
      expect(provider.useFactory()).toBe(counter);
    } finally {
      register.removeSingleMetric(name);
    }
  });
});

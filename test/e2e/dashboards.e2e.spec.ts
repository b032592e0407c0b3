import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WebSocket } from 'ws';
import type { RealtimeClient } from '../../lib/client/index.js';
import { METRIC } from '../../lib/metrics/metric-definitions.js';
import { nextEvent, SampleServer } from '../client/sample-server.js';
import { familyOf, metricFamilies, metricNamesIn } from '../support/promql-metric-names.js';
import { until } from '../support/until.js';
import { parse as parseYaml } from 'yaml';

const DASHBOARD_FILE = new URL('../../dashboards/nest-realtime.json', import.meta.url);
const ALERTS_FILE = new URL('../../dashboards/alerts.yml', import.meta.url);

/** Series Prometheus writes itself for every scrape target: never in an app's `/metrics`. */
const SCRAPE_SERIES = new Set(['up']);

interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; datasource: { uid: string } }[];
}
interface Dashboard {
  schemaVersion: number;
  __inputs: { name: string; pluginId: string }[];
  panels: Panel[];
  templating: { list: { name: string; query: { query: string } }[] };
}
interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

function dashboardExpressions(dashboard: Dashboard): string[] {
  const panels = dashboard.panels.flatMap((panel) => [panel, ...((panel as { panels?: Panel[] }).panels ?? [])]);
  const queries = panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
  // A Grafana variable's `label_values(<selector>, <label>)`: only the selector is PromQL.
  for (const variable of dashboard.templating.list) {
    const selector = /^label_values\((.*),\s*[A-Za-z_]\w*\s*\)$/.exec(variable.query.query);
    queries.push(selector ? selector[1] : variable.query.query);
  }
  return queries;
}

function ruleList(source: string): Rule[] {
  const file = parseYaml(source) as unknown as { groups: { name: string; rules: Rule[] }[] };
  return file.groups.flatMap((group) => group.rules);
}

/** Names the expressions select that are neither a family of the exposition nor a scrape series. */
function unknownMetrics(expressions: string[], families: Map<string, string>): string[] {
  const names = new Set(expressions.flatMap((expression) => [...metricNamesIn(expression)]));
  return [...names].filter((name) => !SCRAPE_SERIES.has(name) && familyOf(name, families) === undefined).sort();
}

describe('dashboards/ against the sample’s /metrics (e2e)', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
  const alertsSource = readFileSync(ALERTS_FILE, 'utf8');
  let server: SampleServer;
  let ann: RealtimeClient;
  let exposition: string;
  let families: Map<string, string>;

  beforeAll(async () => {
    server = await SampleServer.start();
    // A little of everything, so that the labelled series exist: a join, a chat, an echo (latency),
    // an unknown type (an error frame), a refused upgrade, and a dropped connection that resumes.
    ann = server.client('ann', { reconnect: { baseDelay: 10, maxDelay: 50 } });
    await ann.connect();
    await ann.join('lobby');
    await ann.chat('lobby', 'hello');
    await ann.request('echo', 'x');
    ann.send('no_such_type', {});
    const refused = new WebSocket(`${server.url}?token=not-a-token`);
    const answer = await new Promise<number>((resolve) =>
      refused.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)),
    );
    expect(answer).toBe(401);
    refused.once('error', () => undefined); // "closed before the connection was established"
    refused.terminate();
    const reopened = nextEvent(ann, 'open');
    expect(server.dropUser('ann')).toBe(1);
    await reopened;
    await until(async () => (await scrape()).includes('websocket_resumed_rooms_total{'));
    exposition = await scrape();
    families = metricFamilies(exposition);
  });
  afterAll(async () => {
    await ann?.disconnect();
    await server?.close();
  });

  async function scrape(): Promise<string> {
    const response = await fetch(`${server.http}/metrics`);
    expect(response.status).toBe(200);
    return response.text();
  }

  it('the tokenizer finds the selected names, not functions, keywords, labels or variables', () => {
    expect(
      [
        ...metricNamesIn(
          'histogram_quantile(0.99, sum by (instance, le) (rate(a_bucket{instance=~"$instance", x="y{"}[$__rate_interval])))' +
            ' / on (instance) group_left sum without (code) (b offset 5m) > bool 1e3 and c or absent(d[1m:10s]) unless ${e}',
        ),
      ].sort(),
    ).toEqual(['a_bucket', 'b', 'c', 'd']);
  });

  it('every metric the dashboard queries is one the sample exposes', () => {
    const expressions = dashboardExpressions(dashboard);
    expect(expressions.length).toBeGreaterThan(20);
    expect(unknownMetrics(expressions, families)).toEqual([]);
  });

  it('every metric the alert rules use is one the sample exposes (or Prometheus’s own `up`)', () => {
    const rules = ruleList(alertsSource);
    expect(rules.length).toBeGreaterThanOrEqual(8);
    expect(
      unknownMetrics(
        rules.map((rule) => rule.expr),
        families,
      ),
    ).toEqual([]);
  });

  it('a misspelt metric in the dashboard or the rules is reported', () => {
    const misspelt = JSON.parse(
      JSON.stringify(dashboard).replace('websocket_active_rooms{', 'websocket_active_room{'),
    ) as Dashboard;
    expect(unknownMetrics(dashboardExpressions(misspelt), families)).toEqual(['websocket_active_room']);
    const rules = ruleList(alertsSource.replace('websocket_rate_limited_total', 'websocket_ratelimited_total'));
    expect(
      unknownMetrics(
        rules.map((rule) => rule.expr),
        families,
      ),
    ).toEqual(['websocket_ratelimited_total']);
    // A histogram's series resolve to it; a made-up suffix does not.
    expect(unknownMetrics(['websocket_message_latency_seconds_bucket'], families)).toEqual([]);
    expect(unknownMetrics(['websocket_message_latency_seconds_total'], families)).toEqual([
      'websocket_message_latency_seconds_total',
    ]);
  });

  it('the dashboard shows every websocket_* family, each with a series after the traffic', () => {
    const exposed = [...families.keys()].filter((name) => name.startsWith('websocket_')).sort();
    // All of the module's metrics, so that a metric added later fails here until the dashboard shows it.
    expect(exposed).toEqual(Object.values(METRIC).sort());
    const shown = new Set(
      dashboardExpressions(dashboard).flatMap((expression) =>
        [...metricNamesIn(expression)].map((name) => familyOf(name, families)),
      ),
    );
    expect(exposed.filter((name) => !shown.has(name))).toEqual([]);
    // Labelled counters have no series until counted: the traffic above made one of each.
    const withoutSamples = exposed.filter(
      (name) => !new RegExp(`^${name}(_bucket|_sum|_count)?[{ ]`, 'm').test(exposition),
    );
    expect(withoutSamples).toEqual([]);
  });

  it('is a Grafana dashboard on a ${DS_PROMETHEUS} input with a node variable every query filters on', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' })]);
    expect(dashboard.templating.list.map((variable) => variable.name)).toEqual(['instance']);
    const panels = dashboard.panels.filter((panel) => panel.type !== 'row');
    for (const panel of panels) {
      expect(panel.datasource?.uid).toBe('${DS_PROMETHEUS}');
      expect(panel.targets!.length).toBeGreaterThan(0);
      for (const target of panel.targets!) {
        expect(target.datasource.uid).toBe('${DS_PROMETHEUS}');
        // Each selector of a websocket_* metric carries the node filter, so the variable applies.
        const selectors = target.expr.match(/websocket_\w+(\{[^}]*\})?/g)!;
        for (const selector of selectors) expect(selector).toMatch(/\{instance=~"\$instance"\}$/);
      }
    }
  });

  it('the rules are Prometheus rules with a duration, a severity and annotations', () => {
    for (const rule of ruleList(alertsSource)) {
      expect(rule.alert).toMatch(/^WebSocket[A-Za-z]+$/);
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical']).toContain(rule.labels.severity);
      expect(rule.annotations.summary.length).toBeGreaterThan(10);
      expect(rule.annotations.description.length).toBeGreaterThan(20);
    }
  });
});

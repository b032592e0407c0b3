import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_OPTIONS } from '../../lib/options/resolve-options.js';
import { loadSampleConfig } from '../../sample/sample.config.js';
import { blockOf, directives, type NginxDirective, nginxSeconds, parseNginxConfig } from '../support/nginx-config.js';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

/**
 * The example files of docs/deployment.md carry the settings the guide names: they are read
 * here (YAML and nginx syntax) and checked against the module's defaults and the sample's
 * configuration, so that neither can change under them unnoticed.
 */
const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

type Service = {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  stop_grace_period?: string;
  healthcheck?: { test: string[] };
  networks?: Record<string, { ipv4_address?: string }> | string[];
};
const compose = parseYaml(read('docs/examples/docker-compose.yml')) as unknown as {
  services: Record<string, Service>;
  networks: Record<string, { ipam: { config: { subnet: string }[] } }>;
};
const nginx = parseNginxConfig(read('docs/examples/nginx.conf'));
const http = blockOf(nginx, 'http');
const server = blockOf(http, 'server');

/** Every service that runs the app: the ones with REDIS_URL or a JWT secret. */
const appServices = Object.entries(compose.services).filter(([, service]) => service.environment?.JWT_SECRET);

/** Environment variables of the sample (PROTOCOL.md's table), plus NODE_ENV. */
function sampleVariables(): Set<string> {
  const protocol = read('PROTOCOL.md');
  const table = protocol.slice(protocol.indexOf('## The sample app'), protocol.indexOf('HTTP routes of the sample'));
  const names = [...table.matchAll(/^\| (?:\*\*This implementation:\*\* )?`([A-Z_]+)`/gm)].map((match) => match[1]);
  return new Set([...names, 'NODE_ENV']);
}

function seconds(duration: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(duration);
  if (!match) throw new Error(`not a compose duration: ${duration}`);
  return Number(match[1]) * { ms: 0.001, s: 1, m: 60 }[match[2] as 'ms' | 's' | 'm'];
}

function headers(location: NginxDirective[]): Map<string, string> {
  return new Map(directives(location, 'proxy_set_header').map((d) => [d.args[0].toLowerCase(), d.args[1]]));
}

function single(block: NginxDirective[], name: string): string[] {
  const found = directives(block, name);
  if (found.length !== 1) throw new Error(`expected one ${name}, found ${found.length}`);
  return found[0].args;
}

/**
 * The heartbeat's longest silence: a quiet connection is pinged pingInterval after its last pong,
 * and answers within pongTimeout of the ping.
 */
const HEARTBEAT_SECONDS = (DEFAULT_OPTIONS.pingInterval + DEFAULT_OPTIONS.pongTimeout) / 1000;

describe('docs/examples/docker-compose.yml', () => {
  const redisServices = Object.entries(compose.services).filter(([, service]) => service.image?.startsWith('redis:'));
  const nginxService = compose.services.nginx;
  const nginxAddress = Object.values(nginxService.networks as Record<string, { ipv4_address: string }>)[0].ipv4_address;

  it('runs three app nodes on one Redis service, each with its own NODE_ID', () => {
    expect(appServices.map(([name]) => name)).toEqual(['node-1', 'node-2', 'node-3']);
    expect(redisServices).toHaveLength(1);
    const [redisName] = redisServices[0];
    for (const [, service] of appServices) {
      expect(service.environment!.REDIS_URL).toBe(`redis://${redisName}:6379`);
      expect(service.image).toBe(appServices[0][1].image);
    }
    expect(new Set(appServices.map(([, service]) => service.environment!.NODE_ID)).size).toBe(3);
    expect(existsSync(new URL(`docs/examples/${appServices[0][1].build!.dockerfile.split('/').pop()}`, root))).toBe(
      true,
    );
  });

  it('takes JWT_SECRET from the environment (required), never a literal', () => {
    for (const [, service] of appServices) {
      expect(service.environment!.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?[^}]+\}$/);
      expect(service.environment!.NODE_ENV).toBe('production');
    }
  });

  it('trusts exactly the nginx container for X-Forwarded-For, and publishes no node port', () => {
    const subnet = Object.values(compose.networks)[0].ipam.config[0].subnet;
    expect(nginxAddress.split('.').slice(0, 2)).toEqual(subnet.split('.').slice(0, 2));
    for (const [, service] of appServices) {
      expect(service.environment!.TRUST_PROXY).toBe(nginxAddress);
      expect(service.ports).toBeUndefined();
    }
    expect(nginxService.ports).toEqual(['8080:80']);
    expect(nginxService.volumes).toContain('./nginx.conf:/etc/nginx/nginx.conf:ro');
  });

  it('sets only variables the sample reads, with values it accepts', () => {
    const known = sampleVariables();
    expect(known.has('TRUST_PROXY')).toBe(true);
    for (const [, service] of appServices) {
      const env = Object.fromEntries(Object.entries(service.environment!).map(([key, value]) => [key, String(value)]));
      expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
      const config = loadSampleConfig({ ...env, JWT_SECRET: 'a-secret-from-the-environment' });
      expect(config).toMatchObject({
        port: 3000,
        redisUrl: 'redis://redis:6379',
        trustProxy: nginxAddress,
        allowedOrigins: [`http://localhost:${nginxService.ports![0].split(':')[0]}`],
        maxConnections: 10_000,
        maxConnectionsPerAddress: 50,
        devLogin: false,
      });
    }
  });

  it('gives each node longer than the drain to stop, and checks /health', () => {
    for (const [, service] of appServices) {
      expect(seconds(service.stop_grace_period!)).toBeGreaterThan(DEFAULT_OPTIONS.shutdownTimeout / 1000);
      expect(service.healthcheck!.test.join(' ')).toContain('http://127.0.0.1:3000/health');
    }
  });
});

describe('docs/examples/nginx.conf', () => {
  const upstream = blockOf(http, 'upstream', 'realtime');
  const ws = blockOf(server, 'location', DEFAULT_OPTIONS.path);

  it('balances over the three compose nodes, without stickiness', () => {
    const servers = directives(upstream, 'server').map((d) => d.args[0]);
    expect(servers).toEqual(appServices.map(([name, service]) => `${name}:${service.environment!.PORT}`));
    for (const sticky of ['ip_hash', 'hash', 'sticky']) expect(directives(upstream, sticky)).toEqual([]);
  });

  it('proxies the WebSocket upgrade on the module’s path', () => {
    expect(single(ws, 'proxy_pass')).toEqual(['http://realtime']);
    expect(single(ws, 'proxy_http_version')).toEqual(['1.1']);
    const set = headers(ws);
    expect(set.get('upgrade')).toBe('$http_upgrade');
    expect(set.get('connection')).toBe('upgrade');
    expect(set.get('x-forwarded-for')).toBe('$proxy_add_x_forwarded_for');
    expect(headers(blockOf(server, 'location', '/')).get('x-forwarded-for')).toBe('$proxy_add_x_forwarded_for');
  });

  it('keeps quiet connections open past the heartbeat (ping every 25 s, pong within 20 s of it)', () => {
    expect(HEARTBEAT_SECONDS).toBe(45);
    for (const timeout of ['proxy_read_timeout', 'proxy_send_timeout']) {
      expect(nginxSeconds(single(ws, timeout)[0])).toBeGreaterThan(HEARTBEAT_SECONDS);
    }
  });

  it('retries a draining (503) node, cuts slow headers, and drops upstream keep-alives before the node does', () => {
    expect(single(http, 'proxy_next_upstream')).toEqual(expect.arrayContaining(['error', 'http_503']));
    const headersTimeout = Number(appServices[0][1].environment!.HTTP_HEADERS_TIMEOUT_MS) / 1000;
    expect(nginxSeconds(single(http, 'client_header_timeout')[0])).toBeLessThanOrEqual(headersTimeout);
    expect(nginxSeconds(single(upstream, 'keepalive_timeout')[0])).toBeLessThan(headersTimeout);
  });
});

describe('docs/examples/kubernetes.yml', () => {
  const documents = parseAllDocuments(read('docs/examples/kubernetes.yml')).map((document) => {
    // parse() throws on a syntax error; parseAllDocuments() collects them: throw the first.
    if (document.errors.length > 0) throw document.errors[0];
    return document.toJS();
  }) as Record<string, any>[];
  const byKind = (kind: string) => documents.find((document) => document.kind === kind)!;
  const pod = byKind('Deployment').spec.template.spec;
  const app = pod.containers[0];
  const env = new Map<string, any>(app.env.map((variable: any) => [variable.name, variable]));

  it('has a Deployment, a Service without affinity, a PodDisruptionBudget and an Ingress', () => {
    expect(documents.map((document) => document.kind)).toEqual([
      'Deployment',
      'Service',
      'PodDisruptionBudget',
      'Ingress',
    ]);
    expect(byKind('Deployment').spec.replicas).toBe(3);
    expect(byKind('Deployment').spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(byKind('Service').spec.sessionAffinity).toBe('None');
  });

  it('is ready on /health/ready, live on /health/live, and has time to drain before SIGKILL', () => {
    expect(app.readinessProbe.httpGet.path).toBe('/health/ready');
    // Liveness is the process answering: a draining, full or Redis-less node is unready, never
    // restarted for it (neither /health nor /health/ready there).
    expect(app.livenessProbe.httpGet.path).toBe('/health/live');
    const values = Object.fromEntries([...env].map(([name, variable]) => [name, variable.value ?? 'from-a-ref']));
    const { drainDelayMs, drainSpreadMs } = loadSampleConfig(values);
    // DRAIN_DELAY_MS replaces a preStop sleep: readiness is 503 for at least one probe period
    // (and the endpoint removal reaches the ingress) before the first 1012.
    expect(app.lifecycle?.preStop).toBeUndefined();
    const { periodSeconds, failureThreshold } = app.readinessProbe;
    expect(drainDelayMs / 1000).toBeGreaterThanOrEqual(periodSeconds * failureThreshold);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
      (drainDelayMs + drainSpreadMs) / 1000 + DEFAULT_OPTIONS.shutdownTimeout / 1000 + 5,
    );
  });

  it('takes JWT_SECRET from a Secret and sets the sample variables', () => {
    expect(env.get('JWT_SECRET').valueFrom.secretKeyRef).toEqual({ name: 'nest-realtime', key: 'jwt-secret' });
    const known = sampleVariables();
    expect([...env.keys()].filter((name) => !known.has(name))).toEqual([]);
    expect(env.get('TRUST_PROXY').value).toBeTruthy();
    expect(env.get('REDIS_URL').value).toMatch(/^redis:\/\//);
  });

  it('raises the ingress timeouts above the heartbeat', () => {
    const annotations = byKind('Ingress').metadata.annotations;
    for (const name of ['proxy-read-timeout', 'proxy-send-timeout']) {
      expect(Number(annotations[`nginx.ingress.kubernetes.io/${name}`])).toBeGreaterThan(HEARTBEAT_SECONDS);
    }
  });
});

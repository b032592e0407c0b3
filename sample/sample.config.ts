import { randomBytes } from 'node:crypto';
import type { TrustProxy } from '../lib/index.js';

/**
 * The sample is configured only by environment variables (PROTOCOL.md, "The sample app").
 */
export interface SampleConfig {
  port: number;
  /**
   * `LISTEN_BACKLOG`: connections the kernel queues for the node before it accepts them (capped
   * by `net.core.somaxconn`). Node's default, 511, overflows in a reconnect herd while the event
   * loop is busy: the kernel then drops the handshakes' packets and clients retransmit after 1,
   * 2, 4... s, past their connect deadlines.
   */
  listenBacklog: number;
  nodeId: string | undefined;
  redisUrl: string | undefined;
  /** `REDIS_CLUSTER_NODES`: seeds of a Redis Cluster, instead of `REDIS_URL`. */
  redisClusterNodes: { host: string; port: number }[] | undefined;
  allowedOrigins: string[] | undefined;
  maxConnections: number;
  /** `MAX_CONNECTIONS_PER_ADDRESS`: connections one client address may hold (0: no limit). */
  maxConnectionsPerAddress: number;
  /** `TRUST_PROXY`: proxies trusted to name the client in `X-Forwarded-For` (see {@link trustProxy}). */
  trustProxy: TrustProxy | undefined;
  /** `HTTP_HEADERS_TIMEOUT_MS`: request headers must arrive within this; an idle socket is closed after it (0: Node's defaults). */
  httpHeadersTimeoutMs: number;
  logLevel: string;
  /** HS256 secret; `undefined` means the sample's development secret (with a warning). */
  jwtSecret: string | undefined;
  rateLimitPerSec: number;
  rateLimitBurst: number;
  /** An unauthenticated connection is closed with 4001 after this long (`AUTH_TIMEOUT_MS`; 0: never). */
  authTimeoutMs: number;
  /** `POST /dev/token` (password-less login for the chat page): on with the dev secret or `DEV_LOGIN=1`. */
  devLogin: boolean;
  /**
   * `ADMIN_ROOM_PREFIXES`: rooms whose id starts with one of these are for users with the `admin`
   * role (WebSocket joins and REST posts alike). Default `admin-,staff-`; empty: no such rooms.
   */
  adminRoomPrefixes: string[];
  /** `REST_RATE_LIMIT`: REST posts (`POST /rooms/:id/messages`) per user per minute; 0: unlimited. */
  restRateLimit: number;
  /**
   * `DRAIN_DELAY_MS`: on shutdown, how long the node answers 503 on `/health` and
   * `/health/ready` before it sends its connections 1012 (the module's `drainDelay`).
   */
  drainDelayMs: number;
  /**
   * `DRAIN_SPREAD_MS`: on shutdown, the 1012s are spread over this long, so that the other nodes
   * take the clients at their pace (the module's `drainSpread`; 0: all at once).
   */
  drainSpreadMs: number;
  /**
   * `EVENT_LOOP_MAX_DELAY_MS`: `/health/ready` is 503 while the event loop's p99 delay is above
   * this, and upgrades are refused with 503 while the loop runs later than this (the module's
   * `maxEventLoopDelay`); 0 turns both off.
   */
  eventLoopMaxDelayMs: number;
  /**
   * `HANDOVER_GRACE_MS`: with Redis, how long a drained node stays live in the cluster after it
   * stops, so that its users back on other nodes by then are announced neither leaving nor
   * arriving (the Redis adapter's `handOverGrace`).
   */
  handOverGraceMs: number;
  /** `WS_COMPRESSION=on`: `permessage-deflate` with clients that offer it (the module's `compression`). */
  compression: boolean;
  /**
   * `HISTORY_SIZE` / `HISTORY_TTL_MS`: how many of a room's latest broadcasts, and for how long,
   * a client back from a dropped connection can `resume` from (the module's room `historySize`
   * and `historyTtl`). Size them for the longest absence to ride out without `resume_failed`: a
   * rolling deploy's reconnect herd, say, times the busiest room's message rate.
   */
  historySize: number;
  historyTtlMs: number;
}

/**
 * The secret of a sample started without JWT_SECRET: random, made once per process. A fixed
 * development secret would be public (it is in this repository), letting anyone mint an `admin`
 * token for any user; a random one means tokens only come from this process's dev login (and
 * two nodes started without JWT_SECRET do not accept each other's tokens).
 */
export function randomDevelopmentSecret(): string {
  return randomBytes(32).toString('base64url');
}

function integer(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`Environment variable ${name} must be a non-negative integer (got "${raw}")`);
  }
  return value;
}

/** An {@link integer} above 0: a setting for which 0 would mean nothing sensible. */
function positive(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const value = integer(name, fallback, env);
  if (value === 0) throw new Error(`Environment variable ${name} must be above 0 (got "0")`);
  return value;
}

/** `on` or `off` (unset or empty: off); anything else is refused rather than guessed. */
function onOff(name: string, env: NodeJS.ProcessEnv): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === 'off') return false;
  if (raw === 'on') return true;
  throw new Error(`Environment variable ${name} must be "on" or "off" (got "${raw}")`);
}

/** A comma-separated list, items trimmed, empty items dropped. */
function list(raw: string): string[] {
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** `host:port,host:port` (a bracketed IPv6 host allowed) as ioredis cluster seeds. */
function clusterNodes(raw: string | undefined): { host: string; port: number }[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw.split(',').map((seed) => {
    const match = /^\s*(\[[^\]]+\]|[^:\s]+):(\d{1,5})\s*$/.exec(seed);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) {
      throw new Error(`REDIS_CLUSTER_NODES must be host:port,host:port,... (got "${seed.trim()}")`);
    }
    return { host: match[1].replace(/^\[|\]$/g, ''), port };
  });
}

/**
 * `TRUST_PROXY`: unset or `false`: none; `true`: every hop; a number: that many hops; otherwise
 * comma-separated addresses or subnets (`loopback`, `10.0.0.0/8`). The same values as Express's
 * `trust proxy`.
 */
function trustProxy(raw: string | undefined): TrustProxy | undefined {
  if (raw === undefined || raw.trim() === '' || raw === 'false') return undefined;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim());
  return raw;
}

/**
 * Reads the sample's configuration. With `NODE_ENV=production` it refuses to start (throws)
 * without a `JWT_SECRET` — the development secret is public — or with `DEV_LOGIN=1`, which
 * would let anyone mint tokens.
 */
export function loadSampleConfig(env: NodeJS.ProcessEnv = process.env): SampleConfig {
  if (env.REDIS_URL && env.REDIS_CLUSTER_NODES) {
    throw new Error('Set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster), not both');
  }
  if (env.NODE_ENV === 'production') {
    if (!env.JWT_SECRET) {
      throw new Error('NODE_ENV=production: set JWT_SECRET (the development secret is public)');
    }
    if (env.DEV_LOGIN === '1') {
      throw new Error('NODE_ENV=production: DEV_LOGIN=1 would let anyone mint tokens; unset it');
    }
  }
  const origins = env.ALLOWED_ORIGINS === undefined ? undefined : list(env.ALLOWED_ORIGINS);
  return {
    port: integer('PORT', 3000, env),
    listenBacklog: integer('LISTEN_BACKLOG', 4096, env),
    nodeId: env.NODE_ID || undefined,
    redisUrl: env.REDIS_URL || undefined,
    redisClusterNodes: clusterNodes(env.REDIS_CLUSTER_NODES),
    allowedOrigins: origins?.length ? origins : undefined,
    maxConnections: integer('MAX_CONNECTIONS', 10_000, env),
    maxConnectionsPerAddress: integer('MAX_CONNECTIONS_PER_ADDRESS', 0, env),
    trustProxy: trustProxy(env.TRUST_PROXY),
    httpHeadersTimeoutMs: integer('HTTP_HEADERS_TIMEOUT_MS', 10_000, env),
    logLevel: env.LOG_LEVEL || 'log',
    jwtSecret: env.JWT_SECRET || undefined,
    rateLimitPerSec: integer('RATE_LIMIT_PER_SEC', 100, env),
    rateLimitBurst: integer('RATE_LIMIT_BURST', 200, env),
    authTimeoutMs: integer('AUTH_TIMEOUT_MS', 10_000, env),
    devLogin: env.DEV_LOGIN === '1' || (!env.JWT_SECRET && env.DEV_LOGIN !== '0'),
    adminRoomPrefixes: list(env.ADMIN_ROOM_PREFIXES ?? 'admin-,staff-'),
    restRateLimit: integer('REST_RATE_LIMIT', 60, env),
    drainDelayMs: integer('DRAIN_DELAY_MS', 0, env),
    drainSpreadMs: integer('DRAIN_SPREAD_MS', 0, env),
    eventLoopMaxDelayMs: integer('EVENT_LOOP_MAX_DELAY_MS', 1000, env),
    handOverGraceMs: integer('HANDOVER_GRACE_MS', 30_000, env),
    compression: onOff('WS_COMPRESSION', env),
    // The module's own defaults: 100 broadcasts, 5 minutes.
    historySize: integer('HISTORY_SIZE', 100, env),
    historyTtlMs: positive('HISTORY_TTL_MS', 300_000, env),
  };
}

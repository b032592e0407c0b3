import { Cluster, Redis } from 'ioredis';
import { RedisClusterAdapter, type RedisClusterAdapterOptions } from '../../lib/redis/index.js';
import { TestRedis, TestRedisCluster } from './redis-server.js';

/** A standalone redis-server, or a 3-master Redis Cluster (sharded pub/sub), of the test's own. */
export interface RedisBackend {
  /** An adapter on this backend; `options` over the tests' short timings. */
  adapter(prefix: string, options?: RedisClusterAdapterOptions): RedisClusterAdapter;
  client(): Redis | Cluster;
  publish(client: Redis | Cluster, channel: string, message: string): Promise<unknown>;
  /**
   * A plain connection to each server of the backend (one, or every master), for what must be
   * asked of each server itself (`INFO commandstats`, `CONFIG RESETSTAT`). The caller disconnects them.
   */
  servers(): Redis[];
  /** Loses every key (as a restart without persistence would). */
  flushAll(): Promise<void>;
  stop(): Promise<void>;
}

const TIMINGS = { heartbeatInterval: 200, nodeTimeout: 1000 };

export async function standaloneBackend(): Promise<RedisBackend> {
  const redis = await TestRedis.start();
  const client = () => new Redis(redis.port, '127.0.0.1');
  return {
    adapter: (prefix, options) => new RedisClusterAdapter({ url: redis.url, prefix, ...TIMINGS, ...options }),
    client,
    publish: (c, channel, message) => c.publish(channel, message),
    servers: () => [new Redis(redis.port, '127.0.0.1')],
    flushAll: async () => {
      const c = client();
      await c.flushall();
      c.disconnect();
    },
    stop: () => redis.stop(),
  };
}

export async function redisClusterBackend(): Promise<RedisBackend> {
  const cluster = await TestRedisCluster.start(3);
  return {
    adapter: (prefix, options) =>
      new RedisClusterAdapter({ cluster: { nodes: cluster.nodes }, prefix, ...TIMINGS, ...options }),
    client: () => new Cluster(cluster.nodes),
    publish: (c, channel, message) => c.spublish(channel, message),
    servers: () => cluster.nodes.map((node) => new Redis(node.port, node.host)),
    flushAll: async () => {
      for (const node of cluster.nodes) {
        const c = new Redis(node.port, '127.0.0.1');
        await c.flushall();
        c.disconnect();
      }
    },
    stop: () => cluster.stop(),
  };
}

/** The backends a cluster suite runs against, for `describe.each`. */
export const REDIS_BACKENDS: [string, () => Promise<RedisBackend>][] = [
  ['a standalone redis-server', standaloneBackend],
  ['a 3-master Redis Cluster (sharded pub/sub)', redisClusterBackend],
];

import type { RedisOptions } from 'ioredis';
import type { RedisClusterAdapterOptions } from './redis-adapter.options.js';

/** Where the adapter's Redis is, for log lines (without a password); undefined when not given. */
export function redisAddress(options: RedisClusterAdapterOptions): string | undefined {
  if (options.cluster) {
    if (options.cluster.nodes.length === 0) return undefined;
    return options.cluster.nodes
      .map((node) => (typeof node === 'object' ? `${node.host ?? '127.0.0.1'}:${node.port ?? 6379}` : String(node)))
      .join(', ');
  }
  if (options.url) {
    try {
      const url = new URL(options.url);
      if (url.password) url.password = '***';
      return url.toString();
    } catch {
      return options.url;
    }
  }
  const redis = options.redis;
  if (redis?.path) return redis.path;
  if (redis?.host !== undefined || redis?.port !== undefined) {
    return `${redis.host ?? '127.0.0.1'}:${redis.port ?? 6379}`;
  }
  return undefined;
}

/**
 * Options of a Redis Cluster's per-node connections: without `enableOfflineQueue`, which ioredis
 * needs per node (see RedisClusterAdapter.start).
 */
export function withoutOfflineQueue(options: RedisOptions): RedisOptions {
  const { enableOfflineQueue: _queue, ...rest } = options;
  return rest;
}

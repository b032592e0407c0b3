/**
 * `nest-realtime/redis`: the Redis cluster adapter, an entry point of its own so that an app
 * without Redis never loads `ioredis` or its types (the main entry point has no `ioredis` import).
 */
export { RedisClusterAdapter, type RedisClusterAdapterOptions } from './redis-cluster.adapter.js';

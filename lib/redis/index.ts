/**
 * `nest-realtime/redis`: the Redis cluster adapter, an entry point of its own so that an app
 * without Redis never loads `ioredis` or its types (the main entry point has no `ioredis` import).
 * The adapter itself lives with the rest of the cluster layer, in lib/cluster/redis/.
 */
export { RedisClusterAdapter, type RedisClusterAdapterOptions } from '../cluster/redis/redis-cluster.adapter.js';

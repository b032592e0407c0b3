import { RedisClusterAdapter } from '../../dist-sample/lib/redis/index.js';

/**
 * A Redis cluster adapter with no app behind it (a host that delivers nowhere): for benchmarks
 * that measure the adapter's own Redis work. Built from `dist-sample` (`npm run bench` builds it).
 */
export function detachedAdapter(url) {
  const adapter = new RedisClusterAdapter({ url });
  const noop = () => undefined;
  adapter.attach({
    nodeId: 'bench',
    counters: { clusterPublished: 0, clusterReceived: 0 },
    deliverRoom: () => 0,
    deliverUser: noop,
    deliverAll: noop,
    disconnectUser: noop,
    deliverPresence: noop,
  });
  return adapter;
}

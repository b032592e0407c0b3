import { Redis } from 'ioredis';

/** Keys of one shape (ids replaced by `*`), how many, and how many of them never expire. */
export interface KeyGroup {
  pattern: string;
  count: number;
  withoutTtl: number;
  /** The first key without a TTL and its value (a hash's fields), to see what was left. */
  example?: string;
}

/** `nest-realtime:seq:{room-3}` → `nest-realtime:seq:{*}`; `nest-realtime:session:abc` → `nest-realtime:session:*`. */
function shape(key: string): string {
  return key.replace(/\{[^}]*\}/g, '{*}').replace(/^([^:]+:[^:{]+:)[^{].*$/, '$1*');
}

/**
 * Every key left in the soak's Redis, grouped by shape, with the ones that have no TTL: those
 * stay forever unless something deletes them, so after the clients are gone they are leaks
 * unless the shape is expected to be durable.
 */
export async function redisKeys(port: number): Promise<KeyGroup[]> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const groups = new Map<string, KeyGroup>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const pattern = shape(key);
        let group = groups.get(pattern);
        if (!group) groups.set(pattern, (group = { pattern, count: 0, withoutTtl: 0 }));
        group.count++;
        if ((await redis.pttl(key)) !== -1) continue;
        group.withoutTtl++;
        group.example ??= `${key} = ${JSON.stringify((await redis.type(key)) === 'hash' ? await redis.hgetall(key) : await redis.type(key))}`;
      }
    } while (cursor !== '0');
    return [...groups.values()].sort((a, b) => a.pattern.localeCompare(b.pattern));
  } finally {
    redis.disconnect();
  }
}

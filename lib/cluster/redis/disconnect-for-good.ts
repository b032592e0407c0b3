import type { Cluster, Redis } from 'ioredis';
import { disconnectNow } from '../../internal/ioredis-internals.js';

/**
 * Closes an ioredis client for good, with nothing left running once it returns (`app.close()`
 * while Redis is down must not leave ioredis's 2 s disconnect timer behind: redis/ioredis#1247;
 * see {@link disconnectNow}).
 */
export function disconnectForGood(client: Redis | Cluster | undefined): void {
  if (client !== undefined) disconnectNow(client);
}

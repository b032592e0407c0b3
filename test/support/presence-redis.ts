import { afterAll, beforeAll } from '@jest/globals';
import type { Cluster, Redis } from 'ioredis';
import { RedisPresence } from '../../lib/cluster/redis/redis-presence.js';
import { type RedisBackend, standaloneBackend } from './redis-backends.js';

/** A Redis of the file's own with RedisPresence's scripts, for specs that drive RedisPresence. */
export interface PresenceRedis {
  readonly backend: RedisBackend;
  /** The command connection the specs' nodes share. */
  readonly client: Redis | Cluster;
}

/**
 * Starts a standalone Redis before the file's tests and stops it after them. The client is
 * ready before the first change: RedisPresence writes nothing (only records) while it is not.
 */
export function usePresenceRedis(): PresenceRedis {
  let backend: RedisBackend | undefined;
  let client: Redis | Cluster | undefined;
  beforeAll(async () => {
    backend = await standaloneBackend();
    client = backend.client();
    RedisPresence.define(client);
    await client.ping();
  }, 30_000);
  afterAll(async () => {
    client?.disconnect();
    await backend?.stop();
  });
  return {
    get backend() {
      if (!backend) throw new Error('usePresenceRedis: used before its beforeAll ran');
      return backend;
    },
    get client() {
      if (!client) throw new Error('usePresenceRedis: used before its beforeAll ran');
      return client;
    },
  };
}

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import type { Socket } from 'node:net';
import { coalesceCommands } from '../../lib/cluster/redis/command-coalescing.js';
import { REDIS_BACKENDS, type RedisBackend } from '../support/redis-backends.js';

/** Counts the socket writes (syscalls) of every connection `client` has open now. */
function countWrites(client: Redis | Cluster): { readonly writes: number } {
  const connections = client instanceof Cluster ? client.nodes('all') : [client];
  const counter = { writes: 0 };
  for (const connection of connections) {
    type Write = (...args: unknown[]) => void;
    const socket = (connection as unknown as { stream: Socket & { _write: Write; _writev: Write } }).stream;
    for (const method of ['_write', '_writev'] as const) {
      const original = socket[method].bind(socket);
      socket[method] = (...args: unknown[]) => {
        counter.writes++;
        return original(...args);
      };
    }
  }
  return counter;
}

/** A key in the same slot for every `i` (one shard of a Redis Cluster: a transaction may span them). */
const key = (name: string) => `{coalescing}:${name}`;

describe.each(REDIS_BACKENDS)('Redis command coalescing on %s', (_name, backendFactory) => {
  let backend: RedisBackend;
  beforeAll(async () => {
    backend = await backendFactory();
  });
  afterAll(() => backend.stop());

  async function connected(coalesce: boolean): Promise<Redis | Cluster> {
    const client = backend.client();
    if (coalesce) coalesceCommands(client);
    await client.set(key('warm-up'), '1'); // connected, and a Cluster's shards known and open
    if (client instanceof Cluster) await Promise.all(client.nodes('master').map((node) => node.ping()));
    return client;
  }

  it('sends the commands of one turn in one write per connection, in the order they were issued', async () => {
    const client = await connected(true);
    try {
      await client.del(key('list'));
      const counter = countWrites(client);
      const pushes: Promise<unknown>[] = [];
      for (let i = 0; i < 100; i++) pushes.push(client.rpush(key('list'), `a${i}`));
      // A transaction issued between them stays between them (ioredis's autopipelining would
      // write it at once, ahead of the commands before it).
      pushes.push(client.multi().rpush(key('list'), 'multi').exec());
      for (let i = 0; i < 100; i++) pushes.push(client.rpush(key('list'), `b${i}`));
      await Promise.all(pushes);
      expect(counter.writes).toBe(1);
      const expected = [
        ...Array.from({ length: 100 }, (_, i) => `a${i}`),
        'multi',
        ...Array.from({ length: 100 }, (_, i) => `b${i}`),
      ];
      expect(await client.lrange(key('list'), 0, -1)).toEqual(expected);
    } finally {
      client.disconnect();
    }
  });

  it('writes a later turn’s commands in a write of their own, without waiting for the first one’s replies', async () => {
    const client = await connected(true);
    try {
      const counter = countWrites(client);
      const first = [client.incr(key('n')), client.incr(key('n'))];
      await new Promise((resolve) => setImmediate(resolve));
      const second = [client.incr(key('n'))];
      await Promise.all([...first, ...second]);
      expect(counter.writes).toBe(2);
    } finally {
      client.disconnect();
    }
  });

  it('without it, ioredis writes each command on its own (what the coalescing saves)', async () => {
    const client = await connected(false);
    try {
      const counter = countWrites(client);
      await Promise.all(Array.from({ length: 20 }, (_, i) => client.set(key(`plain-${i}`), String(i))));
      expect(counter.writes).toBeGreaterThan(10);
    } finally {
      client.disconnect();
    }
  });
});

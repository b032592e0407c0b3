import { describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { ClusterChannels } from '../../lib/cluster/cluster-channels.js';
import { LiveNodes } from '../../lib/cluster/redis/live-nodes.js';
import { RedisPresence } from '../../lib/cluster/redis/redis-presence.js';
import { presenceDiffJson } from '../../lib/protocol/presence-diff.js';
import { useCleanup } from '../support/cleanup.js';
import { usePresenceRedis } from '../support/presence-redis.js';
import { until } from '../support/until.js';

/**
 * A presence write that fails while Redis is up (a command timed out under load) leaves the
 * room's share to be written again at the next heartbeat, and a change made while Redis is away
 * is written only when it is back: either way the change's `presence_diff` was never published,
 * and every member's list would stay one user short (or long) for good. The change is announced
 * after the share is written. (The same for a share lost to a purge: presence-purged-alive.) (The bookkeeping is RedisPresence's, the same on every
 * backend; the script it reruns is pinned on Redis Cluster by the presence specs.)
 */
describe('a presence change whose write failed', () => {
  const redis = usePresenceRedis();
  const cleanup = useCleanup();

  /** The redis.client, but its next `setPresenceShare` fails as a timed-out command does. */
  function failingOnce(target: Redis | Cluster): Redis | Cluster {
    let failed = false;
    return new Proxy(target, {
      get(object, property, receiver) {
        if (property === 'setPresenceShare' && !failed) {
          failed = true;
          return () => Promise.reject(new Error('Command timed out'));
        }
        const value = Reflect.get(object, property, receiver) as unknown;
        return typeof value === 'function' ? value.bind(object) : value;
      },
    });
  }

  /**
   * One node's presence in a room of its own and what the room's channel carries; for a leave,
   * amy has joined first (announced, then forgotten by `heard`).
   */
  async function amyBefore(change: 'joins' | 'leaves', name: string, nodeId: string) {
    const channels = new ClusterChannels(`${name}-${change}-${process.pid}`);
    const room = `${name}-room-${change}`;
    const presence = new RedisPresence(
      channels,
      nodeId,
      10_000,
      2000,
      new LiveNodes(nodeId),
      'publish',
      new Logger('presence-missed-diff'),
    );
    const heard: string[] = [];
    const subscriber = redis.backend.client();
    cleanup.defer(() => subscriber.disconnect());
    subscriber.on('message', (_channel: string, message: string) => heard.push(message));
    await subscriber.subscribe(channels.room(room));
    const diff = (kind: 'joins' | 'leaves') => presenceDiffJson(room, kind, 'amy', 'Amy');
    if (change === 'leaves') {
      await presence.changed(redis.client, room, 'amy', 'Amy', 1, diff('joins'), undefined);
      await until(() => heard.length === 1);
      heard.length = 0;
    }
    return { presence, room, heard, diff };
  }

  it.each([
    ['joins', 1],
    ['leaves', 0],
  ] as const)(
    'is announced (%s) at the next heartbeat, after the share is written again',
    async (change, connections) => {
      const { presence, room, heard, diff } = await amyBefore(change, 'missed', 'node-m');
      await presence.changed(failingOnce(redis.client), room, 'amy', 'Amy', connections, diff(change), undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(heard).toEqual([]);

      await presence.beat(redis.client);
      await until(() => heard.length > 0);
      expect(heard).toHaveLength(1);
      // The publication: a header naming this node, then the frame.
      const frame = (message: string) => JSON.parse(message.slice(message.lastIndexOf('\n') + 1)) as { data: unknown };
      expect(frame(heard[0]).data).toEqual(frame(diff(change)).data);
      const users = (await presence.state(redis.client, room)).map((entry) => entry.user_id);
      expect(users).toEqual(change === 'joins' ? ['amy'] : []);
      // Announced once: the next heartbeat has nothing more to say.
      await presence.beat(redis.client);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(heard).toHaveLength(1);
    },
  );

  it.each([
    ['joins', 1],
    ['leaves', 0],
  ] as const)(
    'made while Redis was away, is announced (%s) once the share is written back',
    async (change, connections) => {
      const { presence, room, heard, diff } = await amyBefore(change, 'away', 'node-w');
      // No command connection (Redis away): the change is only recorded.
      await presence.changed(undefined, room, 'amy', 'Amy', connections, diff(change), undefined);
      await presence.rewrite(redis.client);
      await until(() => heard.length > 0);
      const frame = (message: string) => JSON.parse(message.slice(message.lastIndexOf('\n') + 1)) as { data: unknown };
      expect(frame(heard[0]).data).toEqual(frame(diff(change)).data);
      await presence.beat(redis.client);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(heard).toHaveLength(1);
    },
  );
});

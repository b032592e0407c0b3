import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { PresenceStateData, RealtimeClient } from '../../lib/client/index.js';
import { nextEvent, SampleServer } from '../client/sample-server.js';
import { crashClusterNode } from '../support/chat.js';
import { TestRedis } from '../support/redis-server.js';
import { until } from '../support/until.js';

/**
 * The user ids in `lobby`'s presence as `client` asks for it, sorted. Waits 100 ms first: it is
 * polled, and so stays well below the sample's rate limit.
 */
async function lobbyPresence(client: RealtimeClient): Promise<string[]> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  const users = (await client.request<PresenceStateData>('presence', { room_id: 'lobby' })).data.users;
  return users.map((u) => u.user_id).sort();
}

/**
 * A node that crashes and comes back under the same NODE_ID (a restarted pod of a StatefulSet,
 * a process manager's restart) within `nodeTimeout`: its heartbeat resumes before any other
 * node sees it dead, so nobody else ever purges what its previous process had registered. The
 * chaos soak found the ghosts: users online and present in rooms forever.
 */
describe('a node restarted under the same id (cluster e2e)', () => {
  let redis: TestRedis;
  let observer: SampleServer;
  beforeAll(async () => {
    redis = await TestRedis.start();
    observer = await SampleServer.start({ REDIS_URL: redis.url, NODE_ID: 'observer' });
  });
  afterAll(async () => {
    await observer?.close();
    await redis?.stop();
  });

  it("purges its previous process's users and presence when it starts", async () => {
    const crashed = await SampleServer.start({ REDIS_URL: redis.url, NODE_ID: 'restarted' });
    const ann = crashed.client('ann', { reconnect: false });
    const bob = observer.client('bob');
    let restarted: SampleServer | undefined;
    try {
      await Promise.all([ann.connect(), bob.connect()]);
      await ann.join('lobby');
      await bob.join('lobby');
      const presence = () => lobbyPresence(bob);
      await until(async () => (await presence()).includes('ann'));

      // The crash: Redis connections cut first, so the close cannot unregister anything.
      crashClusterNode(crashed.app);
      const annGone = nextEvent(ann, 'closed');
      await crashed.close();
      await annGone;
      const leave = new Promise((resolve) =>
        bob.on('presence_diff', (diff) => diff.leaves.some((u) => u.user_id === 'ann') && resolve(diff)),
      );
      restarted = await SampleServer.start({ REDIS_URL: redis.url, NODE_ID: 'restarted' });

      // Well within nodeTimeout (10 s), and the node heartbeats again: only the restart purges.
      await until(async () => !(await presence()).includes('ann'), 8000);
      expect(await presence()).toEqual(['bob']);
      await leave;
      await expect(bob.request('private_message', { target_user_id: 'ann', content: 'hi?' })).rejects.toMatchObject({
        code: 'USER_OFFLINE',
      });
    } finally {
      await Promise.all([ann.disconnect(), bob.disconnect()]);
      await restarted?.close();
    }
  });
});

/**
 * Redis restarted empty while members stay connected: each node writes its room counts and
 * presence shares back (as it does its users), so the presence is right again and the leaves
 * that follow take the counters to nothing — not below zero, in hashes without a TTL, for ever.
 */
describe('a Redis restart under connected members (cluster e2e)', () => {
  let redis: TestRedis;
  let nodeA: SampleServer;
  let nodeB: SampleServer;
  beforeAll(async () => {
    redis = await TestRedis.start();
    [nodeA, nodeB] = await Promise.all([
      SampleServer.start({ REDIS_URL: redis.url, NODE_ID: 'a' }),
      SampleServer.start({ REDIS_URL: redis.url, NODE_ID: 'b' }),
    ]);
  });
  afterAll(async () => {
    await nodeA?.close();
    await nodeB?.close();
    await redis?.stop();
  });

  it('restores presence and room counts, and leaves no counter behind', async () => {
    const ann = nodeA.client('ann');
    const bob = nodeB.client('bob');
    const inspect = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true });
    try {
      await Promise.all([ann.connect(), bob.connect()]);
      await ann.join('lobby');
      await bob.join('lobby');
      const presence = () => lobbyPresence(bob);
      await until(async () => (await presence()).length === 2);

      await redis.stop();
      await redis.spawn();
      await inspect.connect();
      await until(async () => (await presence()).join() === 'ann,bob', 8000);
      await until(async () => (await inspect.hgetall('nest-realtime:node-rooms:a')).lobby === '1', 8000);

      await ann.disconnect();
      await until(async () => (await presence()).join() === 'bob');
      await until(async () => (await inspect.exists('nest-realtime:node-rooms:a')) === 0);
      expect(await inspect.hgetall('nest-realtime:node-rooms:a')).toEqual({});
      expect(await inspect.hgetall('nest-realtime:node-rooms:b')).toEqual({ lobby: '1' });
      // Presence is per node (a share each, in the room's node index): a's is gone, b's holds bob with one
      // connection (`connections:username`).
      await until(async () => (await inspect.exists('nest-realtime:presence:{lobby}:node:a')) === 0);
      expect(await inspect.smembers('nest-realtime:node-presence-rooms:a')).toEqual([]);
      expect(await inspect.hgetall('nest-realtime:presence:{lobby}:node:b')).toEqual({ bob: '1:bob' });
      expect(await inspect.zrange('nest-realtime:presence-members:{lobby}', 0, -1)).toEqual(['b']);
    } finally {
      inspect.disconnect();
      await Promise.all([ann.disconnect(), bob.disconnect()]);
    }
  });
});

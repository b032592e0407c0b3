import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ConnectionManager, RealtimeHealth } from '../../lib/index.js';
import { ClusterChannels } from '../../lib/cluster/cluster-channels.js';
import { RedisClusterAdapter } from '../../lib/redis/index.js';
import { crashClusterNode } from '../support/chat.js';
import { REDIS_BACKENDS, type RedisBackend } from '../support/redis-backends.js';
import { TestRedis } from '../support/redis-server.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { type Frame, TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';

/** The backends' nodeTimeout (test/support/redis-backends.ts): how long a silent node's presence counts. */
const NODE_TIMEOUT = 1000;

/**
 * A node that dies without a goodbye must not stay in any room's presence: its share of each
 * room's presence counts only while the node is live in the node table. These cases are the ones
 * the purge by a surviving node cannot cover.
 */
describe.each(REDIS_BACKENDS)('cluster presence leases on %s (e2e)', (_name, backendFactory) => {
  let backend: RedisBackend;
  let a: TestApp;
  const apps: TestApp[] = [];
  const clients: TestClient[] = [];
  const prefix = `lease${process.pid}`;

  const node = async (nodeId: string): Promise<TestApp> => {
    const app = await createTestApp({
      nodeId,
      auth: { secret: TEST_SECRET },
      rateLimit: false,
      cluster: backend.adapter(prefix),
    });
    apps.push(app);
    return app;
  };

  async function login(app: TestApp, userId: string): Promise<TestClient> {
    const client = await TestClient.connect(`${app.url}?token=${hsToken({ user_id: userId })}`);
    await client.next('auth_success');
    clients.push(client);
    return client;
  }

  const join = (client: TestClient, roomId: string): Promise<Frame> =>
    client.request({ type: 'join_room', id: `j-${Math.random()}`, data: { room_id: roomId } });

  const presentUsers = async (client: TestClient, roomId: string): Promise<string[]> => {
    const state = await client.request({ type: 'presence', id: `p-${Math.random()}`, data: { room_id: roomId } });
    return (state.data.users as { user_id: string }[]).map((user) => user.user_id).sort();
  };

  beforeAll(async () => {
    backend = await backendFactory();
    a = await node('lease-a');
  }, 30_000);
  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.terminate();
    for (const app of apps.splice(1)) await app.close();
    await until(() => a.app.get(ConnectionManager).count === 0);
  });
  afterAll(async () => {
    await a.close();
    await backend.stop();
  });

  it('drops the users of a dead node that nobody purged from presence_state once its lease has run out', async () => {
    const observer = await login(a, 'watcher');
    await join(observer, 'lease-room');
    const b = await node('lease-b');
    const doomed = await login(b, 'ghost');
    await join(doomed, 'lease-room');
    await until(async () => (await presentUsers(observer, 'lease-room')).includes('ghost'));
    // Node B dies without a goodbye, and so does the node that would have purged it: it won the
    // ZREM of B from the node list (as the first to see B dead does) and died before the purge.
    crashClusterNode(b.app);
    const raw = backend.client();
    try {
      await raw.zrem(new ClusterChannels(prefix).nodes(), 'lease-b');
    } finally {
      raw.disconnect();
    }
    const crashed = Date.now();
    await until(async () => !(await presentUsers(observer, 'lease-room')).includes('ghost'), 3 * NODE_TIMEOUT);
    // Within nodeTimeout of B's last heartbeat (before the crash), seen at A's next heartbeat.
    expect(Date.now() - crashed).toBeLessThan(NODE_TIMEOUT + 800);
    expect(await presentUsers(observer, 'lease-room')).toEqual(['watcher']);
  });

  it('takes back what a node left when it comes back under the same id after a crash, announcing the leaves', async () => {
    const observer = await login(a, 'watcher2');
    await join(observer, 'restart-room');
    const first = await node('lease-c');
    await join(await login(first, 'phoenix'), 'restart-room');
    expect((await observer.next('presence_diff')).data.joins).toEqual([{ user_id: 'phoenix', username: 'phoenix' }]);
    crashClusterNode(first.app);
    // Restarted at once (a container restart): its heartbeats go on under the same id, so no
    // other node ever sees lease-c as dead and purges it.
    await node('lease-c');
    const left = await observer.next('presence_diff', 3 * NODE_TIMEOUT);
    expect(left.data).toEqual({
      room_id: 'restart-room',
      joins: [],
      leaves: [{ user_id: 'phoenix', username: 'phoenix' }],
    });
    expect(await presentUsers(observer, 'restart-room')).toEqual(['watcher2']);
  });
});

describe('cluster presence after Redis lost it (e2e)', () => {
  let redis: TestRedis;
  const apps: TestApp[] = [];

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await redis.stop();
  });

  it('writes each node’s share again when Redis restarted without persistence', async () => {
    redis = await TestRedis.start();
    const make = async (nodeId: string) => {
      const app = await createTestApp({
        nodeId,
        auth: { secret: TEST_SECRET },
        rateLimit: false,
        cluster: new RedisClusterAdapter({
          url: redis.url,
          prefix: `lost${process.pid}`,
          heartbeatInterval: 200,
          nodeTimeout: 1000,
        }),
      });
      apps.push(app);
      return app;
    };
    const [a, b] = [await make('lost-a'), await make('lost-b')];
    const clients = [
      await TestClient.connect(`${a.url}?token=${hsToken({ user_id: 'amy' })}`),
      await TestClient.connect(`${b.url}?token=${hsToken({ user_id: 'bob' })}`),
    ];
    for (const client of clients) {
      await client.next('auth_success');
      await client.request({ type: 'join_room', id: 'j', data: { room_id: 'kept' } });
    }
    const users = async () => {
      const state = await clients[0].request({ type: 'presence', id: `p-${Math.random()}`, data: { room_id: 'kept' } });
      return (state.data.users as { user_id: string; connections: number }[])
        .map((user) => `${user.user_id}:${user.connections}`)
        .sort();
    };
    await until(async () => (await users()).length === 2);

    await redis.stop();
    await redis.spawn();
    await until(() => apps.every((app) => app.app.get(RealtimeHealth).check().redis === 'up'), 10_000);
    // Every key is gone; the nodes' heartbeats put their shares back.
    await until(async () => (await users()).join() === 'amy:1,bob:1', 5000);
    for (const client of clients) client.socket.terminate();
  });
});

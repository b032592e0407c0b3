import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { useCleanup } from '../support/cleanup.js';
import { REDIS_BACKENDS, type RedisBackend } from '../support/redis-backends.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';

/** The backends' heartbeatInterval and nodeTimeout (test/support/redis-backends.ts). */
const HEARTBEAT = 200;
const NODE_TIMEOUT = 1000;
const ROOMS = 200;
const NODES = 2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls per command since the last `CONFIG RESETSTAT`, summed over the servers; the test's own left out. */
async function commandCalls(servers: Redis[]): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const info of await Promise.all(servers.map((server) => server.info('commandstats')))) {
    for (const [, command, count] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      if (command === 'info' || command.startsWith('config')) continue;
      calls.set(command, (calls.get(command) ?? 0) + Number(count));
    }
  }
  return calls;
}

/**
 * With nobody talking, what a node costs Redis must not grow with the rooms it is in: a share of
 * a room's presence counts while its node is live in the node table (one heartbeat per node), not
 * by a lease of its own renewed at every heartbeat. That renewal was the largest load on Redis in
 * the 60 000-connection run (docs/scaling.md, "The first bottleneck"): here 200 rooms × 2 nodes
 * cost over 1 000 commands per heartbeat and node.
 */
describe.each(REDIS_BACKENDS)('idle presence cost in Redis on %s (e2e)', (_name, backendFactory) => {
  let backend: RedisBackend;
  const cleanup = useCleanup();
  const prefix = `idle${process.pid}`;
  const rooms = Array.from({ length: ROOMS }, (_, i) => `idle-room-${i}`);

  const node = async (nodeId: string): Promise<TestApp> =>
    cleanup.track(
      await createTestApp({
        nodeId,
        auth: { secret: TEST_SECRET },
        rateLimit: false,
        cluster: backend.adapter(prefix),
      }),
    );

  async function memberOfAll(app: TestApp, userId: string): Promise<TestClient> {
    const client = cleanup.track(await TestClient.connect(`${app.url}?token=${hsToken({ user_id: userId })}`));
    await client.next('auth_success');
    await Promise.all(
      rooms.map((roomId) => client.request({ type: 'join_room', id: `j-${roomId}`, data: { room_id: roomId } })),
    );
    return client;
  }

  const presentUsers = async (client: TestClient, roomId: string): Promise<string[]> => {
    const state = await client.request({ type: 'presence', id: `p-${Math.random()}`, data: { room_id: roomId } });
    return (state.data.users as { user_id: string }[]).map((user) => user.user_id).sort();
  };

  beforeAll(async () => {
    backend = await backendFactory();
  }, 30_000);
  afterAll(() => backend.stop());

  it('costs O(nodes) commands per heartbeat, not O(rooms), while the shares keep counting', async () => {
    const [a, b] = [await node('idle-a'), await node('idle-b')];
    const amy = await memberOfAll(a, 'amy');
    await memberOfAll(b, 'bob');
    // Every room has a share of each node.
    for (const roomId of [rooms[0], rooms[ROOMS - 1]]) {
      await until(async () => (await presentUsers(amy, roomId)).join() === 'amy,bob');
    }
    // Writes still on their way land before the count starts.
    await sleep(2 * HEARTBEAT);

    const servers = backend.servers();
    cleanup.defer(() => servers.forEach((server) => server.disconnect()));
    await Promise.all(servers.map((server) => server.config('RESETSTAT')));
    const started = Date.now();
    // Several heartbeats of each node, and longer than nodeTimeout: no share is written meanwhile.
    await sleep(Math.max(10 * HEARTBEAT, 2 * NODE_TIMEOUT));
    const calls = await commandCalls(servers);
    const heartbeats = (Date.now() - started) / HEARTBEAT;
    const total = [...calls.values()].reduce((sum, count) => sum + count, 0);
    const perHeartbeatAndNode = total / heartbeats / NODES;
    // The per-share renewal cost six commands per room and node (EVALSHA, TIME, EXISTS, PEXPIRE,
    // ZADD, PEXPIRE): 1 200 here. What is left is the node's own heartbeat and key leases.
    expect(perHeartbeatAndNode).toBeLessThan(50);

    // Unrenewed for longer than nodeTimeout, the shares of both live nodes still count.
    for (const roomId of [rooms[0], rooms[ROOMS / 2], rooms[ROOMS - 1]]) {
      expect(await presentUsers(amy, roomId)).toEqual(['amy', 'bob']);
    }
  }, 60_000);
});

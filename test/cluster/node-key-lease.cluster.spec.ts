import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Cluster, Redis } from 'ioredis';
import { ClusterChannels } from '../../lib/cluster/cluster-channels.js';
import { crashClusterNode } from '../support/chat.js';
import { useCleanup } from '../support/cleanup.js';
import { REDIS_BACKENDS, type RedisBackend } from '../support/redis-backends.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';

/** The backends' nodeTimeout (test/support/redis-backends.ts): a node's user set and room counts last 2× that. */
const NODE_TIMEOUT = 1000;
/**
 * An online entry's lease: three renewal periods of max(10 × nodeTimeout, 5 min) — garbage
 * collection only, too long to wait for here (test/cluster/online-lease.cluster.spec.ts drives
 * its renewal with a moved clock).
 */
const ONLINE_LEASE = 900_000;

/**
 * A node's own keys — its users' online entries, its user set, its room counts — are a lease its
 * heartbeats renew, like its presence shares: a node that died when no node was left to purge
 * it (or the purging node died too) leaves nothing behind for good. Its user set and room counts
 * go within 2 × nodeTimeout; its users' online entries (read only while the node is live) last
 * for their longer lease.
 */
describe.each(REDIS_BACKENDS)('a node’s keys in Redis on %s (e2e)', (_name, backendFactory) => {
  let backend: RedisBackend;
  let raw: Redis | Cluster;
  const prefix = `keys${process.pid}`;
  const channels = new ClusterChannels(prefix);
  const cleanup = useCleanup();

  const node = async (nodeId: string): Promise<TestApp> =>
    cleanup.track(
      await createTestApp({
        nodeId,
        auth: { secret: TEST_SECRET },
        rateLimit: false,
        cluster: backend.adapter(prefix),
      }),
    );
  const member = async (app: TestApp, userId: string, roomId: string): Promise<TestClient> => {
    const client = cleanup.track(await TestClient.connect(`${app.url}?token=${hsToken({ user_id: userId })}`));
    await client.next('auth_success');
    await client.request({ type: 'join_room', id: 'j', data: { room_id: roomId } });
    return client;
  };
  /** The keys that record `userId` on `nodeId`. */
  const keysOf = (nodeId: string, userId: string) => [
    channels.online(userId),
    channels.nodeUsers(nodeId),
    channels.nodeRooms(nodeId),
  ];
  /** Whether the keys hold the user, and the node's `connections` in the room. */
  const registered = async (nodeId: string, userId: string, roomId: string, connections = 1) =>
    (await raw.hget(channels.online(userId), nodeId)) === '1' &&
    (await raw.sismember(channels.nodeUsers(nodeId), userId)) === 1 &&
    (await raw.hget(channels.nodeRooms(nodeId), roomId)) === String(connections);
  const ttls = (keys: string[]) => Promise.all(keys.map((key) => raw.pttl(key)));

  beforeAll(async () => {
    backend = await backendFactory();
    raw = backend.client();
  }, 30_000);
  afterAll(async () => {
    raw.disconnect();
    await backend.stop();
  });

  it('expire when the node died and nobody purged it; a key a live node shares stays', async () => {
    const a = await node('keys-a');
    const b = await node('keys-b');
    await member(a, 'both', 'lease-room');
    await member(b, 'both', 'lease-room');
    await member(b, 'ghost', 'lease-room');
    await until(() => registered('keys-b', 'ghost', 'lease-room', 2));
    await until(async () => (await raw.hget(channels.online('both'), 'keys-b')) === '1');
    const [online, ...keys] = keysOf('keys-b', 'ghost');
    // The online entry (a command per user to renew, so renewed rarely) lasts its lease; the
    // node's user set and room counts (renewed at every beat) 2 × nodeTimeout.
    const onlineTtl = await raw.pttl(online);
    expect(onlineTtl).toBeGreaterThan(ONLINE_LEASE - 10_000);
    expect(onlineTtl).toBeLessThanOrEqual(ONLINE_LEASE);
    for (const ttl of await ttls(keys)) {
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(2 * NODE_TIMEOUT);
    }

    // B dies without a goodbye, and so does the node that would have purged it: it won the
    // ZREM of B from the node list (as the first to see B dead does) and died before the purge.
    crashClusterNode(b.app);
    await raw.zrem(channels.nodes(), 'keys-b');
    // One EXISTS per key: in a Redis Cluster they live in different slots.
    await until(
      async () => (await Promise.all(keys.map((key) => raw.exists(key)))).every((n) => n === 0),
      8 * NODE_TIMEOUT,
    );
    // The online entry is left to its lease (B's field in it is ignored by reads): still bounded.
    const left = await raw.pttl(online);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(ONLINE_LEASE);
    // The user still on A keeps its online entry alive (B's field in it is ignored by reads).
    expect(await raw.hget(channels.online('both'), 'keys-a')).toBe('1');
    expect(await raw.pttl(channels.online('both'))).toBeGreaterThan(0);
  });

  it('are renewed while the node lives, and written again when they are gone', async () => {
    const a = await node('keys-live');
    await member(a, 'stayer', 'live-room');
    await until(() => registered('keys-live', 'stayer', 'live-room'));
    const keys = keysOf('keys-live', 'stayer');
    // Shortened: only the heartbeat's renewal lengthens them again (the online entry's renewal
    // is minutes away: left alone).
    const nodeKeys = keys.slice(1);
    for (const key of nodeKeys) await raw.pexpire(key, 600);
    await until(async () => (await ttls(nodeKeys)).every((ttl) => ttl > 600));

    // Lost (a flush, a purge while the node was cut off): the user set gone tells the node, and
    // the next heartbeat writes them all again.
    for (const key of keys) await raw.del(key);
    await until(() => registered('keys-live', 'stayer', 'live-room'));
    for (const ttl of await ttls(keys)) expect(ttl).toBeGreaterThan(0);
  });
});

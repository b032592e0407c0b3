import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ClusterChannels } from '../../lib/cluster/cluster-channels.js';
import { RoomManager } from '../../lib/index.js';
import { REDIS_BACKENDS, type RedisBackend } from '../support/redis-backends.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { type Frame, TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';
import { useCleanup } from '../support/cleanup.js';

/** The backends' nodeTimeout (test/support/redis-backends.ts): a silent node is purged after it. */
const NODE_TIMEOUT = 1000;
/** How long a drained node stays live here after it stops: longer than nodeTimeout, as by default. */
const GRACE = 2000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A drain (1012) moves a node's users to other nodes, where they resume. Their rooms must not
 * see each of them leave and arrive again: at scale that is a `presence_diff` to every member of
 * every room of every mover, twice (found by the four-node scale benchmark, where it turned a
 * drain of 15 000 clients into a storm). The draining node hands its presence over instead: it
 * stays live with its shares for handOverGrace after it stops, then another node purges it, and
 * only users who did not come back are announced as leaving then. A herd takes longer to come
 * back than nodeTimeout: the grace is what covers it.
 */
describe.each(REDIS_BACKENDS)('presence handover at a drain, on %s (e2e)', (_name, backendFactory) => {
  let backend: RedisBackend;
  const cleanup = useCleanup();
  const prefix = `handover${process.pid}`;

  const node = async (nodeId: string): Promise<TestApp> =>
    createTestApp({
      nodeId,
      auth: { secret: TEST_SECRET },
      rateLimit: false,
      cluster: backend.adapter(prefix, { handOverGrace: GRACE }),
    });

  async function login(app: TestApp, userId: string): Promise<TestClient> {
    const client = cleanup.track(await TestClient.connect(`${app.url}?token=${hsToken({ user_id: userId })}`));
    await client.next('auth_success');
    return client;
  }

  const join = (client: TestClient, roomId: string): Promise<Frame> =>
    client.request({ type: 'join_room', id: `j-${Math.random()}`, data: { room_id: roomId } });

  const diffsAfter = (client: TestClient, from: number) =>
    client.frames
      .slice(from)
      .filter((f) => f.type === 'presence_diff')
      .map((f) => f.data);

  beforeAll(async () => {
    backend = await backendFactory();
  }, 30_000);
  afterAll(() => backend.stop());

  it('announces neither a leave nor a join for a user back after nodeTimeout; one who did not come back leaves after the grace', async () => {
    const a = cleanup.track(await node('node-a'));
    const b = await node('node-b');
    let bClosed = false;
    cleanup.defer(() => (bClosed ? undefined : b.close()));
    const observer = await login(a, 'obs');
    await join(observer, 'h-room');
    const mover = await login(b, 'max');
    await join(mover, 'h-room');
    const gone = await login(b, 'gus');
    await join(gone, 'h-room');
    await until(() => diffsAfter(observer, 0).length === 2);
    const before = observer.frames.length;

    // The drain: both of B's clients get 1012; `gus` never comes back.
    const closing = b.close().then(() => (bClosed = true));
    expect(await mover.closed).toEqual({ code: 1012, reason: 'service restart' });
    await closing;
    const stoppedAt = Date.now();
    // `max` is back only after nodeTimeout and a few heartbeats: a node purged after nodeTimeout
    // would have announced both leaving by now (and `max` arriving again below).
    await sleep(NODE_TIMEOUT + 500);
    expect(diffsAfter(observer, before)).toEqual([]);
    const during = await observer.request({ type: 'presence', id: 'p0', data: { room_id: 'h-room' } });
    expect((during.data.users as { user_id: string }[]).map((u) => u.user_id).sort()).toEqual(['gus', 'max', 'obs']);
    const moved = await login(a, 'max');
    await join(moved, 'h-room');

    // A purges B once B's grace and nodeTimeout are over: `gus` leaves then, not before.
    await until(() => diffsAfter(observer, before).length > 0, (GRACE + NODE_TIMEOUT) * 5);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(GRACE);
    const rooms = a.app.get(RoomManager);
    await until(async () => (await rooms.clusterList()).find((r) => r.id === 'h-room')?.client_count === 2);
    // Nothing else was on its way: a later diff would be a late leave or join of `max`.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(diffsAfter(observer, before)).toEqual([
      { room_id: 'h-room', joins: [], leaves: [{ user_id: 'gus', username: 'gus' }] },
    ]);
    const state = await observer.request({ type: 'presence', id: 'p1', data: { room_id: 'h-room' } });
    expect(state.data.users).toEqual(
      expect.arrayContaining([
        { user_id: 'obs', username: 'obs', connections: 1 },
        { user_id: 'max', username: 'max', connections: 1 },
      ]),
    );
    expect(state.data.users).toHaveLength(2);
  }, 30_000);

  it('still leaves the cluster at once when a node stops with no connection to hand over', async () => {
    const a = cleanup.track(await node('node-a'));
    const b = await node('node-b');
    const observer = await login(a, 'obs');
    await join(observer, 'e-room');
    const visitor = await login(b, 'vic');
    await join(visitor, 'e-room');
    await until(() => diffsAfter(observer, 0).length === 1);
    // The visitor leaves first (a leave is announced at once), then B stops empty: a clean exit.
    await visitor.close();
    await until(() => diffsAfter(observer, 0).length === 2);
    expect(diffsAfter(observer, 0)[1]).toEqual({
      room_id: 'e-room',
      joins: [],
      leaves: [{ user_id: 'vic', username: 'vic' }],
    });
    await b.close();
    const rooms = a.app.get(RoomManager);
    expect((await rooms.clusterList()).find((r) => r.id === 'e-room')?.client_count).toBe(1);
  }, 30_000);

  it('hands over when the drain starts, so a node killed before it stops still does; its own heartbeats keep the grace', async () => {
    const b = await node('node-early');
    let bClosed = false;
    cleanup.defer(() => (bClosed ? undefined : b.close()));
    const member = await login(b, 'ida');
    await join(member, 'early-room');
    const redis = backend.client();
    cleanup.defer(() => redis.disconnect());
    const channels = new ClusterChannels(prefix);
    const ahead = async () => {
      const [seconds, micros] = await redis.time();
      const score = Number(await redis.zscore(channels.nodes(), 'node-early'));
      return score - (Number(seconds) * 1000 + Math.floor(Number(micros) / 1000));
    };
    expect(await ahead()).toBeLessThanOrEqual(0);

    // What RealtimeServer does as it sends the 1012s; the node has not stopped (and may be killed).
    b.app.get(RoomManager).handOver();
    await until(async () => (await ahead()) > GRACE - 1000);
    // Three more of its heartbeats (every 200 ms here) do not move the score back.
    await sleep(600);
    expect(await ahead()).toBeGreaterThan(GRACE - 1000);
    expect(await redis.hgetall(channels.presenceShare('early-room', 'node-early'))).toEqual({ ida: '1:ida' });
    await b.close().then(() => (bClosed = true));
  }, 30_000);

  it('keeps a drained node live, and its presence shares, for a grace longer than their usual keep', async () => {
    const hour = 3_600_000;
    const b = await createTestApp({
      nodeId: 'node-long',
      auth: { secret: TEST_SECRET },
      rateLimit: false,
      cluster: backend.adapter(prefix, { handOverGrace: hour }),
    });
    let bClosed = false;
    cleanup.defer(() => (bClosed ? undefined : b.close()));
    const member = await login(b, 'lea');
    await join(member, 'long-room');
    await b.close().then(() => (bClosed = true));
    expect((await member.closed).code).toBe(1012);

    const redis = backend.client();
    cleanup.defer(() => redis.disconnect());
    const channels = new ClusterChannels(prefix);
    const [seconds, micros] = await redis.time();
    const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    // Live until an hour from now (then nodeTimeout more): its last heartbeat is scored ahead.
    const score = Number(await redis.zscore(channels.nodes(), 'node-long'));
    expect(score).toBeGreaterThan(redisNow + hour - 5000);
    expect(score).toBeLessThanOrEqual(redisNow + hour);
    // Its share outlasts that (a share's usual keep is 15 minutes): the purge will find it.
    expect(await redis.hgetall(channels.presenceShare('long-room', 'node-long'))).toEqual({ lea: '1:lea' });
    expect(await redis.pttl(channels.presenceShare('long-room', 'node-long'))).toBeGreaterThan(hour + NODE_TIMEOUT);
    expect(await redis.pttl(channels.nodePresence('node-long'))).toBeGreaterThan(hour + NODE_TIMEOUT);
  }, 30_000);
});

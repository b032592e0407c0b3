import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { RealtimeClient, type ResumeFailedData } from '../../lib/client/index.js';
import { ConnectionManager, RealtimeHealth, RoomManager } from '../../lib/index.js';
import { RedisClusterAdapter } from '../../lib/redis/index.js';
import { useCleanup } from '../support/cleanup.js';
import { TestRedis } from '../support/redis-server.js';
import { ResumingClient, trackedResumer } from '../support/resuming-client.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';
import { nextEvent } from '../client/sample-server.js';

const SESSION_TTL = 30_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Whose session is whose, across nodes, when Redis does not answer at once: a session record that
 * could not be written is written once Redis takes it, and a lookup that fails while Redis is up
 * never lets another user resume the session (it is refused, not taken for "unknown").
 * Redis's failures are made on purpose: ACL rules take SET or GET away from the nodes' user.
 */
describe('session ownership across nodes when Redis fails (e2e)', () => {
  const cleanup = useCleanup();
  const prefix = `o${process.pid}`;
  const tokenOf = (userId: string) => hsToken({ user_id: userId });
  const keyOf = (sessionId: string) => `${prefix}:session:${sessionId}`;

  async function setup(): Promise<{ redis: TestRedis; admin: Redis; node: (id: string) => Promise<TestApp> }> {
    const redis = cleanup.track(await TestRedis.start());
    const admin = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
    cleanup.defer(() => admin.disconnect());
    const node = async (nodeId: string) =>
      cleanup.track(
        await createTestApp({
          nodeId,
          auth: { secret: TEST_SECRET },
          rateLimit: false,
          sessionTtl: SESSION_TTL,
          cluster: new RedisClusterAdapter({ url: redis.url, prefix, heartbeatInterval: 200, nodeTimeout: 1000 }),
        }),
      );
    return { redis, admin, node };
  }

  /** Takes `command` away from the nodes (the `default` user), or gives it back. */
  const deny = (admin: Redis, command: 'set' | 'get') => admin.acl('SETUSER', 'default', `-${command}`);
  const allow = (admin: Redis, command: 'set' | 'get') => admin.acl('SETUSER', 'default', `+${command}`);
  const pendingOn = (app: TestApp) =>
    (app.app.get(RoomManager) as unknown as { cluster: RedisClusterAdapter }).cluster.pendingSessionRecords;

  it('writes a session record whose first writes failed once Redis takes it', async () => {
    const { admin, node } = await setup();
    const a = await node('own-a');
    await deny(admin, 'set');
    const ann = await trackedResumer(a.url, tokenOf('ann'), cleanup);
    // Longer than a few quick tries: the record must still be on its way then.
    await sleep(1000);
    expect(await admin.get(keyOf(ann.sessionId))).toBeNull();
    await allow(admin, 'set');
    await until(async () => (await admin.get(keyOf(ann.sessionId))) === 'ann', 5000);
    expect(pendingOn(a)).toBe(0);
    // With what was left of the session's ttl, not more.
    const ttl = await admin.pttl(keyOf(ann.sessionId));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(SESSION_TTL - 1000);
  });

  it('writes the session records made during a Redis outage once Redis is back', async () => {
    const { redis, admin, node } = await setup();
    const a = await node('own-a');
    await redis.stop();
    await until(() => a.app.get(RealtimeHealth).check().redis === 'down');
    const ann = await trackedResumer(a.url, tokenOf('ann'), cleanup);
    await sleep(500);
    await redis.spawn();
    await until(async () => (await admin.get(keyOf(ann.sessionId)).catch(() => null)) === 'ann', 10_000);
    expect(pendingOn(a)).toBe(0);
  });

  it("refuses another user's resume when the lookup fails while Redis is up; the owner's is refused too, then goes through", async () => {
    const { admin, node } = await setup();
    const a = await node('own-a');
    const b = await node('own-b');
    const ann = await trackedResumer(a.url, tokenOf('ann'), cleanup);
    await ann.join('owned-room');
    await until(async () => (await admin.get(keyOf(ann.sessionId))) === 'ann');
    await ann.client.close();

    await deny(admin, 'get');
    const eve = new ResumingClient(tokenOf('eve'));
    cleanup.defer(() => eve.client?.close());
    await eve.connect(b.url);
    const steal = () =>
      eve.client.request({
        type: 'resume',
        id: 's',
        data: { session_id: ann.sessionId, rooms: Object.fromEntries(ann.positions) },
      });
    const refused = await steal();
    expect(refused).toMatchObject({ type: 'error', data: { code: 'INTERNAL' } });
    expect(b.app.get(RealtimeHealth).check().redis).toBe('up');
    // The owner cannot be told from another user meanwhile: refused the same way (the SDK then joins the rooms again).
    expect(await ann.reconnect(b.url)).toMatchObject({ type: 'error', data: { code: 'INTERNAL' } });
    await ann.client.close();

    await allow(admin, 'get');
    expect(await steal()).toMatchObject({ type: 'error', data: { code: 'FORBIDDEN' } });
    expect((await ann.reconnect(b.url)).data).toEqual({ rooms: ['owned-room'] });
  });

  it('the SDK joins its rooms again when the server could not check the session (INTERNAL)', async () => {
    const { admin, node } = await setup();
    const a = await node('own-a');
    const b = await node('own-b');
    let url = a.url;
    const ann = new RealtimeClient({
      url: () => url,
      WebSocket,
      token: () => tokenOf('ann'),
      heartbeat: false,
      reconnect: { baseDelay: 20, maxDelay: 50 },
    });
    cleanup.defer(() => ann.disconnect());
    await ann.connect();
    await ann.join('sdk-room');
    const sessionId = ann.connectionInfo!.session_id;
    await until(async () => (await admin.get(keyOf(sessionId))) === 'ann');
    const failures: ResumeFailedData[] = [];
    ann.onEvent('resume_failed', (event) => failures.push(event));

    await deny(admin, 'get');
    url = b.url;
    const reopened = nextEvent(ann, 'open');
    for (const connection of a.app.get(ConnectionManager).getByUser('ann')) connection.terminate();
    await reopened;
    expect(failures).toEqual([{ room_id: 'sdk-room', reason: 'resume_refused', seq: 0, epoch: expect.any(String) }]);
    expect(ann.joinedRooms).toEqual(['sdk-room']);
    expect(b.app.get(ConnectionManager).getByUser('ann')).toHaveLength(1);
  });

  it('lets a resume go on while Redis is down: the node works alone, rooms through the join policy', async () => {
    const { redis, node } = await setup();
    const a = await node('own-a');
    const b = await node('own-b');
    const ann = await trackedResumer(a.url, tokenOf('ann'), cleanup);
    await ann.join('alone-room');
    await ann.client.close();
    await redis.stop();
    await until(() => b.app.get(RealtimeHealth).check().redis === 'down');
    expect(await ann.reconnect(b.url)).toMatchObject({ type: 'resumed', data: { rooms: ['alone-room'] } });
  });
});

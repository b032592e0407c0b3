import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ConnectionManager, RealtimeHealth, RoomManager } from '../../lib/index.js';
import { RedisClusterAdapter } from '../../lib/redis/index.js';
import { REDIS_BACKENDS, type RedisBackend } from '../support/redis-backends.js';
import { TestRedis } from '../support/redis-server.js';
import { crashClusterNode, memberOf, say, startEmitter } from '../support/chat.js';
import { range, ResumingClient, seqsOf } from '../support/resuming-client.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(REDIS_BACKENDS)('resume across a cluster on %s (e2e)', (backendName, backendFactory) => {
  let backend: RedisBackend;
  let a: TestApp;
  let b: TestApp;
  const extraApps: TestApp[] = [];
  const sockets: TestClient[] = [];
  const prefix = `r${process.pid}`;

  const adapter = () => backend.adapter(prefix);
  const node = (nodeId: string) =>
    createTestApp({
      nodeId,
      auth: { secret: TEST_SECRET },
      rateLimit: false,
      cluster: adapter(),
      shutdownTimeout: 2000,
      rooms: (roomId) => (roomId.startsWith('short-') ? { historySize: 5 } : {}),
    });
  const tokenOf = (userId: string) => hsToken({ user_id: userId });

  async function resumer(app: TestApp, userId: string): Promise<ResumingClient> {
    const client = new ResumingClient(tokenOf(userId));
    await client.connect(app.url);
    return client;
  }

  async function talker(app: TestApp, userId: string, roomId: string): Promise<TestClient> {
    const client = await memberOf(app.url, tokenOf(userId), roomId);
    sockets.push(client);
    return client;
  }

  const emitter = () => startEmitter(adapter());

  beforeAll(async () => {
    backend = await backendFactory();
    a = await node('node-a');
    b = await node('node-b');
  }, 30_000);
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((c) => c.close()));
    for (const app of extraApps.splice(0)) await app.close();
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await backend.stop();
  });

  it('resumes on the other node: the 20 messages missed, in order, then live', async () => {
    const ann = await resumer(a, 'ann');
    await ann.join('x-room');
    const bob = await talker(b, 'bob', 'x-room');
    await say(bob, 'x-room', ['first']);
    await until(() => ann.roomFrames('x-room').length === 1);
    await ann.client.close();
    const missed = range(1, 20).map((i) => `missed ${i}`);
    await say(bob, 'x-room', missed);
    expect((await ann.reconnect(b.url)).data).toEqual({ rooms: ['x-room'] });
    await until(() => ann.roomFrames('x-room').length === 21);
    await say(bob, 'x-room', ['live']);
    await until(() => ann.roomFrames('x-room').length === 22);
    const frames = ann.roomFrames('x-room');
    expect(frames.map((f) => f.data.content)).toEqual(['first', ...missed, 'live']);
    const first = frames[0].seq as number;
    expect(seqsOf(frames)).toEqual(range(first, first + 21));
    expect(ann.failures).toEqual([]);
    sockets.push(ann.client);
  });

  it('resumes after the node the client was on died, and refuses its session to another user on any node', async () => {
    const doomed = await node('node-doomed');
    const ann = await resumer(doomed, 'ann');
    await ann.join('crash-room');
    const bob = await talker(a, 'bob', 'crash-room');
    // The node dies: its sockets drop and it says no goodbye to Redis.
    crashClusterNode(doomed.app);
    for (const connection of doomed.app.get(ConnectionManager).connections()) connection.socket.terminate();
    await ann.client.closed;
    const missed = range(1, 5).map((i) => `while dead ${i}`);
    await say(bob, 'crash-room', missed);

    const eve = new ResumingClient(tokenOf('eve'));
    await eve.connect(b.url);
    sockets.push(eve.client);
    const stolen = await eve.client.request({
      type: 'resume',
      id: 's',
      data: { session_id: ann.sessionId, rooms: Object.fromEntries(ann.positions) },
    });
    expect(stolen).toMatchObject({ type: 'error', data: { code: 'FORBIDDEN' } });

    expect((await ann.reconnect(b.url)).data).toEqual({ rooms: ['crash-room'] });
    await until(() => ann.roomFrames('crash-room').length === 5);
    expect(ann.roomFrames('crash-room').map((f) => f.data.content)).toEqual(missed);
    sockets.push(ann.client);
    await doomed.close();
  });

  it('answers resume_failed history_expired past historySize, as one node does (Redis trims only roughly)', async () => {
    const ann = await resumer(a, 'ann');
    await ann.join('short-x');
    const bob = await talker(b, 'bob', 'short-x');
    await ann.client.close();
    await say(
      bob,
      'short-x',
      range(1, 6).map((i) => `m${i}`),
    );
    expect((await ann.reconnect(b.url)).data).toEqual({ rooms: ['short-x'] });
    expect((await ann.client.next('resume_failed')).data).toMatchObject({
      room_id: 'short-x',
      reason: 'history_expired',
      seq: 6,
    });
    expect(ann.roomFrames('short-x')).toEqual([]);
    // Within the size, the same room replays.
    await ann.client.close();
    await say(bob, 'short-x', ['m7', 'm8']);
    await ann.reconnect(a.url);
    await until(() => ann.roomFrames('short-x').length === 2);
    expect(ann.roomFrames('short-x').map((f) => f.data.content)).toEqual(['m7', 'm8']);
    sockets.push(ann.client);
  });

  it('answers resume_failed epoch_changed after the history was lost (FLUSHALL)', async () => {
    const ann = await resumer(a, 'ann');
    await ann.join('flushed-room');
    const bob = await talker(b, 'bob', 'flushed-room');
    await say(bob, 'flushed-room', ['before']);
    await until(() => ann.roomFrames('flushed-room').length === 1);
    await ann.client.close();
    await backend.flushAll();
    await say(bob, 'flushed-room', ['after flush']);
    await ann.reconnect(b.url);
    const failed = await ann.client.next('resume_failed');
    expect(failed.data).toMatchObject({ room_id: 'flushed-room', reason: 'epoch_changed', seq: 1 });
    expect(failed.data.epoch).not.toBe(ann.roomFrames('flushed-room')[0].epoch);
    await say(bob, 'flushed-room', ['next']);
    await until(() => ann.roomFrames('flushed-room').length === 2);
    expect(ann.roomFrames('flushed-room')[1]).toMatchObject({ seq: 2, epoch: failed.data.epoch });
    sockets.push(ann.client);
  });

  it('loses and doubles nothing when messages keep arriving during the replay', async () => {
    const { emitter: jobs, close } = await emitter();
    const ann = await resumer(a, 'ann');
    await ann.join('busy-room');
    let sent = 0;
    let sending = true;
    const pump = (async () => {
      while (sending) {
        await jobs.toRoom('busy-room', 'tick', { n: ++sent });
        if (sent % 5 === 0) await sleep(1);
      }
    })();
    // Several reconnects in a row, alternating nodes, while the room keeps ticking.
    for (let round = 0; round < 6; round++) {
      await sleep(30);
      await ann.client.close();
      await sleep(20);
      const answer = await ann.reconnect(round % 2 === 0 ? b.url : a.url);
      expect(answer.type).toBe('resumed');
    }
    await sleep(30);
    sending = false;
    await pump;
    await until(() => ann.roomFrames('busy-room').length >= sent, 5000);
    await sleep(100);
    const frames = ann.roomFrames('busy-room');
    expect(ann.failures).toEqual([]);
    expect(frames.map((f) => f.data.n)).toEqual(range(1, sent));
    expect(seqsOf(frames)).toEqual(range(1, sent));
    sockets.push(ann.client);
    await close();
  }, 20_000);

  it("recovers the frames other nodes published while a node's subscriber connection was reconnecting", async () => {
    const member = await talker(a, 'ann', 'blip-room');
    const bob = await talker(b, 'bob', 'blip-room');
    const subscriber = (a.app.get(RoomManager) as unknown as { cluster: { sub: Redis } }).cluster.sub;
    let reconnected = 0;
    subscriber.on('ready', () => reconnected++);
    for (let i = 1; i <= 60; i++) {
      bob.send({ type: 'chat', data: { room_id: 'blip-room', content: String(i) } });
      if (i === 20) subscriber.disconnect(true);
      await sleep(3);
    }
    await until(() => member.frames.filter((f) => f.type === 'chat_message').length >= 60, 5000);
    const got = member.frames.filter((f) => f.type === 'chat_message');
    expect(reconnected).toBe(1);
    expect(got.map((f) => f.data.content)).toEqual(range(1, 60).map(String));
    const first = got[0].seq as number;
    expect(seqsOf(got)).toEqual(range(first, first + 59));
  });

  // The subscriber connection is taken down by hand, which only a standalone client allows (a
  // Redis Cluster client manages its sharded subscribers itself).
  const onStandalone = backendName.startsWith('a standalone') ? it : it.skip;

  onStandalone(
    "keeps a room gap-free when a node publishes while its subscriber connection is down and another node's frame was missed",
    async () => {
      const ann = await talker(a, 'ann', 'own-gap');
      const carl = await talker(a, 'carl', 'own-gap');
      const bob = await talker(b, 'bob', 'own-gap');
      await say(bob, 'own-gap', ['b1']);
      await until(() => ann.frames.some((f) => f.type === 'chat_message'));
      const subscriber = (a.app.get(RoomManager) as unknown as { cluster: { sub: Redis } }).cluster.sub;
      subscriber.disconnect();
      await until(() => subscriber.status === 'end');
      await say(bob, 'own-gap', ['b2']);
      // Node A publishes: Redis sequences it after b2, which node A never received.
      carl.send({ type: 'chat', data: { room_id: 'own-gap', content: 'c3' } });
      await sleep(100);
      await subscriber.connect();
      await say(bob, 'own-gap', ['b4']);
      for (const member of [ann, carl]) {
        await until(() => member.frames.filter((f) => f.type === 'chat_message').length >= 4, 5000);
        const got = member.frames.filter((f) => f.type === 'chat_message');
        expect(got.map((f) => f.data.content)).toEqual(['b1', 'b2', 'c3', 'b4']);
        expect(seqsOf(got)).toEqual(range(got[0].seq as number, (got[0].seq as number) + 3));
      }
    },
  );

  it('accounts for every message through a rolling restart of both nodes under steady traffic', async () => {
    const { emitter: jobs, close } = await emitter();
    let first: TestApp = await node('roll-1');
    let second: TestApp = await node('roll-2');
    const clients: ResumingClient[] = [];
    for (const [i, app] of [first, first, second, second].entries()) {
      const client = await resumer(app, `user-${i}`);
      await client.join('roll');
      clients.push(client);
    }
    let sent = 0;
    let sending = true;
    const pump = (async () => {
      while (sending) {
        await jobs.toRoom('roll', 'chat_message', { n: ++sent });
        await sleep(5);
      }
    })();
    /** A node drains (1012): its clients reconnect to the other one and resume. */
    const restart = async (draining: TestApp, target: TestApp) => {
      const moving = clients.filter((c) => c.client.socket.url.startsWith(draining.url));
      const closing = draining.close();
      for (const client of moving) {
        expect((await client.client.closed).code).toBe(1012);
        expect((await client.reconnect(target.url)).type).toBe('resumed');
      }
      await closing;
    };
    await sleep(150);
    await restart(first, second);
    first = await node('roll-1b');
    await sleep(150);
    await restart(second, first);
    second = await node('roll-2b');
    await sleep(150);
    sending = false;
    await pump;
    for (const client of clients) {
      await until(() => client.roomFrames('roll').length >= sent, 5000);
      expect(client.failures).toEqual([]);
      expect(client.roomFrames('roll').map((f) => f.data.n)).toEqual(range(1, sent));
      expect(seqsOf(client.roomFrames('roll'))).toEqual(range(1, sent));
      sockets.push(client.client);
    }
    expect(sent).toBeGreaterThan(40);
    extraApps.push(first, second);
    await close();
  }, 30_000);
});

describe('Redis restarted under sustained room traffic (e2e)', () => {
  it('keeps local delivery gap-free and in order, doubles nothing across nodes, and recovers cross-node delivery', async () => {
    const redis = await TestRedis.start();
    const make = (nodeId: string) =>
      createTestApp({
        nodeId,
        rateLimit: false,
        cluster: new RedisClusterAdapter({
          url: redis.url,
          prefix: `s${process.pid}`,
          heartbeatInterval: 200,
          nodeTimeout: 1000,
        }),
      });
    const a = await make('sa');
    const b = await make('sb');
    const sender = await TestClient.connect(a.url);
    const local = await TestClient.connect(a.url);
    const remote = await TestClient.connect(b.url);
    for (const c of [sender, local, remote]) {
      await c.request({ type: 'join_room', id: 'j', data: { room_id: 'steady' } });
    }
    const total = 160;
    for (let i = 1; i <= total; i++) {
      sender.send({ type: 'chat', data: { room_id: 'steady', content: String(i) } });
      if (i === 40) void redis.stop();
      if (i === 80) await redis.spawn();
      await sleep(15);
    }
    await until(() => a.app.get(RealtimeHealth).check().redis === 'up', 10_000);
    // After the restart, cross-node delivery resumes: keep going until B hears from A again.
    let extra = 0;
    await until(async () => {
      sender.send({ type: 'chat', data: { room_id: 'steady', content: `extra ${++extra}` } });
      await sleep(50);
      return remote.frames.some((f) => f.type === 'chat_message' && f.data.content === `extra ${extra}`);
    }, 10_000);
    const expected = [...range(1, total).map(String), ...range(1, extra).map((i) => `extra ${i}`)];
    await until(() => local.frames.filter((f) => f.type === 'chat_message').length >= expected.length, 5000);
    const atLocal = local.frames.filter((f) => f.type === 'chat_message');
    // Local delivery never stopped: every message, once, in order.
    expect(atLocal.map((f) => f.data.content)).toEqual(expected);
    // Within each epoch the sequence has no gap.
    const byEpoch = new Map<string, number[]>();
    for (const f of atLocal)
      byEpoch.set(f.epoch as string, [...(byEpoch.get(f.epoch as string) ?? []), f.seq as number]);
    for (const seqs of byEpoch.values()) expect(seqs).toEqual(range(seqs[0], seqs[0] + seqs.length - 1));
    expect(byEpoch.size).toBeGreaterThanOrEqual(2);
    // The other node got no message twice.
    const atRemote = remote.frames.filter((f) => f.type === 'chat_message').map((f) => f.data.content);
    expect(new Set(atRemote).size).toBe(atRemote.length);
    expect(atRemote).toContain(`extra ${extra}`);
    for (const c of [sender, local, remote]) await c.close();
    await a.close();
    await b.close();
    await redis.stop();
  }, 30_000);
});

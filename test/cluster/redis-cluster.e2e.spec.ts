import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ConnectionManager, RealtimeHealth, RoomManager, SessionManager } from '../../lib/index.js';
import { ClusterChannels } from '../../lib/cluster/cluster-channels.js';
import { RealtimeStats } from '../../lib/stats/realtime-stats.js';
import { RedisClusterAdapter } from '../../lib/redis/index.js';
import { crashClusterNode, startEmitter } from '../support/chat.js';
import { REDIS_BACKENDS, type RedisBackend } from '../support/redis-backends.js';
import { TestRedis, TestRedisCluster } from '../support/redis-server.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { type Frame, TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';
import { useCleanup } from '../support/cleanup.js';

describe.each(REDIS_BACKENDS)('Redis cluster adapter: two nodes on %s (e2e)', (_name, backendFactory) => {
  let backend: RedisBackend;
  let a: TestApp;
  let b: TestApp;
  const clients: TestClient[] = [];
  const prefix = `t${process.pid}`;

  const node = (nodeId: string) =>
    createTestApp({
      nodeId,
      auth: { secret: TEST_SECRET },
      rateLimit: false,
      cluster: backend.adapter(prefix),
    });

  async function login(app: TestApp, userId: string, roles: string[] = []): Promise<TestClient> {
    const client = await TestClient.connect(`${app.url}?token=${hsToken({ user_id: userId, roles })}`);
    await client.next('auth_success');
    clients.push(client);
    return client;
  }

  const join = (client: TestClient, roomId: string): Promise<Frame> =>
    client.request({ type: 'join_room', id: `j-${Math.random()}`, data: { room_id: roomId } });

  beforeAll(async () => {
    backend = await backendFactory();
    a = await node('node-a');
    b = await node('node-b');
  }, 30_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await until(() => a.app.get(ConnectionManager).count + b.app.get(ConnectionManager).count === 0);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await backend.stop();
  });

  it('reports redis up in health', () => {
    expect(a.app.get(RealtimeHealth).check()).toEqual({ status: 'ok', node_id: 'node-a', redis: 'up' });
  });

  it('delivers a room broadcast to members on every node exactly once, in one cluster-wide seq order', async () => {
    const [onA, onB, alsoB] = [await login(a, 'ann'), await login(b, 'bob'), await login(b, 'bea')];
    for (const c of [onA, onB, alsoB]) await join(c, 'x-chat');
    // Both nodes publish into the same room, interleaved.
    for (let i = 0; i < 20; i++) {
      onA.send({ type: 'chat', data: { room_id: 'x-chat', content: `a${i}` } });
      onB.send({ type: 'chat', data: { room_id: 'x-chat', content: `b${i}` } });
    }
    // Then one last message: once it is in, any duplicate of the 40 is in too.
    await until(() => onA.frames.filter((f) => f.type === 'chat_message').length >= 40);
    onA.send({ type: 'chat', data: { room_id: 'x-chat', content: 'marker' } });
    const seen = async (c: TestClient) => {
      await until(() => c.frames.some((f) => f.type === 'chat_message' && f.data.content === 'marker'));
      const chats = c.frames.filter((f) => f.type === 'chat_message');
      expect(chats.at(-1)?.data.content).toBe('marker');
      return chats.slice(0, -1);
    };
    const [atA, atB, atB2] = await Promise.all([seen(onA), seen(onB), seen(alsoB)]);
    for (const frames of [atA, atB, atB2]) {
      expect(frames).toHaveLength(40);
      const seqs = frames.map((f) => f.seq as number);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
      expect(new Set(frames.map((f) => f.epoch)).size).toBe(1);
    }
    // The same sequence everywhere: every node saw the same order.
    expect(atB.map((f) => f.data.content)).toEqual(atA.map((f) => f.data.content));
    expect(atB2.map((f) => f.seq)).toEqual(atA.map((f) => f.seq));
    expect(atA.filter((f) => f.data.user_id === 'bob')).toHaveLength(20);
  });

  it('subscribes a node to a room only while it has members there', async () => {
    const adapterOf = (app: TestApp) =>
      (app.app.get(RoomManager) as unknown as { cluster: RedisClusterAdapter }).cluster;
    const onA = await login(a, 'ann');
    await join(onA, 'solo-room');
    expect(adapterOf(a).watchedRooms().has('solo-room')).toBe(true);
    expect(adapterOf(b).watchedRooms().has('solo-room')).toBe(false);
    await onA.request({ type: 'leave_room', id: 'l', data: { room_id: 'solo-room' } });
    expect(adapterOf(a).watchedRooms().has('solo-room')).toBe(false);
    // Churn: leave and rejoin quickly, then receive from the other node.
    await join(onA, 'solo-room');
    const onB = await login(b, 'bob');
    await join(onB, 'solo-room');
    onB.send({ type: 'chat', data: { room_id: 'solo-room', content: 'after churn' } });
    expect((await onA.next('chat_message')).data.content).toBe('after churn');
  });

  it('sends private messages to every connection of a user across nodes, and USER_OFFLINE only when none exists', async () => {
    const sender = await login(a, 'ann');
    const tabOnA = await login(a, 'bob');
    const tabOnB = await login(b, 'bob');
    // Once a user is visible online cluster-wide, messages to it arrive (the node subscribed first).
    await until(() => a.app.get(RoomManager).isUserOnline('bob'));
    await until(
      async () =>
        await (a.app.get(RoomManager) as unknown as { cluster: RedisClusterAdapter }).cluster.isUserOnlineElsewhere(
          'bob',
        ),
    );
    sender.send({ type: 'private_message', data: { target_user_id: 'bob', content: 'hi bob' } });
    for (const tab of [tabOnA, tabOnB]) {
      expect((await tab.next('private_message')).data).toMatchObject({ from_user_id: 'ann', content: 'hi bob' });
    }
    const onlyOnB = await login(b, 'carl');
    await until(() => a.app.get(RoomManager).isUserOnline('carl'));
    sender.send({ type: 'private_message', data: { target_user_id: 'carl', content: 'across' } });
    expect((await onlyOnB.next('private_message')).data.content).toBe('across');
    expect(
      (await sender.request({ type: 'private_message', id: 'off', data: { target_user_id: 'nobody', content: 'x' } }))
        .data.code,
    ).toBe('USER_OFFLINE');
    await onlyOnB.close();
    await until(async () => !(await a.app.get(RoomManager).isUserOnline('carl')));
    expect(
      (await sender.request({ type: 'private_message', id: 'off2', data: { target_user_id: 'carl', content: 'x' } }))
        .data.code,
    ).toBe('USER_OFFLINE');
  });

  it('sends announcements to every connection on every node', async () => {
    const admin = await login(a, 'root', ['admin']);
    const others = [await login(a, 'ann'), await login(b, 'bob')];
    admin.send({ type: 'admin_message', data: { content: 'maintenance' } });
    for (const c of [admin, ...others]) {
      expect((await c.next('announcement')).data).toMatchObject({ content: 'maintenance', from_user_id: 'root' });
    }
    // A second announcement: once it is in, any duplicate of the first is in too.
    admin.send({ type: 'admin_message', data: { content: 'marker' } });
    for (const c of [admin, ...others]) {
      expect((await c.next('announcement')).data.content).toBe('marker');
      expect(c.frames.filter((f) => f.type === 'announcement').map((f) => f.data.content)).toEqual([
        'maintenance',
        'marker',
      ]);
    }
  });

  it('broadcasts from a RoomManager on node A (as a REST controller would) to members on node B', async () => {
    const member = await login(b, 'bob');
    await join(member, 'news');
    const [statsA, statsB] = [a.app.get(RealtimeStats), b.app.get(RealtimeStats)];
    // The join's presence_diff also crosses the cluster: let that traffic settle first.
    for (let last = -1; last !== statsB.clusterReceived;) {
      last = statsB.clusterReceived;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    const [publishedBefore, receivedBefore] = [statsA.clusterPublished, statsB.clusterReceived];
    const result = await a.app.get(RoomManager).broadcast('news', 'chat_message', { content: 'from A' });
    const frame = await member.next('chat_message');
    expect(frame).toMatchObject({ room: 'news', seq: result.seq, epoch: result.epoch, data: { content: 'from A' } });
    expect(statsA.clusterPublished).toBe(publishedBefore + 1);
    expect(statsB.clusterReceived).toBe(receivedBefore + 1);
  });

  it('lets a process without WebSockets publish through RealtimeEmitter', async () => {
    const { emitter, close } = await startEmitter(backend.adapter(prefix));
    const member = await login(b, 'bob');
    const other = await login(a, 'ann');
    await join(member, 'jobs');
    const { seq, epoch } = await emitter.toRoom('jobs', 'job_done', { id: 42 });
    expect(await member.next('job_done')).toMatchObject({ room: 'jobs', seq, epoch, data: { id: 42 } });
    emitter.toUser('ann', 'notice', { text: 'for ann' });
    expect((await other.next('notice')).data).toEqual({ text: 'for ann' });
    emitter.toAll('broadcast', { text: 'everyone' });
    for (const c of [member, other]) expect((await c.next('broadcast')).data).toEqual({ text: 'everyone' });
    emitter.disconnectUser('bob', 'job says bye');
    expect(await member.closed).toEqual({ code: 4003, reason: 'job says bye' });
    await close();
  });

  it('keeps one presence per user across nodes, with cluster-wide presence_state and room counts', async () => {
    const observer = await login(a, 'obs');
    await join(observer, 'p-room');
    const tabA = await login(a, 'kim', []);
    const tabB = await login(b, 'kim');
    await join(tabA, 'p-room');
    await join(tabB, 'p-room');
    const diff = await observer.next('presence_diff');
    expect(diff).toMatchObject({
      room: 'p-room',
      data: { room_id: 'p-room', joins: [{ user_id: 'kim' }], leaves: [] },
    });
    // Cluster presence is eventually consistent: wait until the second tab's count has landed.
    const kimCount = async () =>
      (
        (await observer.request({ type: 'presence', id: `pw-${Math.random()}`, data: { room_id: 'p-room' } })).data
          .users as {
          user_id: string;
          connections: number;
        }[]
      ).find((u) => u.user_id === 'kim')?.connections;
    await until(async () => (await kimCount()) === 2);
    for (const client of [observer, tabB]) {
      const state = await client.request({ type: 'presence', id: `ps-${Math.random()}`, data: { room_id: 'p-room' } });
      expect(state.data.users).toEqual(
        expect.arrayContaining([
          { user_id: 'obs', username: 'obs', connections: 1 },
          { user_id: 'kim', username: 'kim', connections: 2 },
        ]),
      );
    }
    const count = async (app: TestApp, roomId: string) =>
      (await app.app.get(RoomManager).clusterList()).find((r) => r.id === roomId)?.client_count;
    await until(async () => (await count(b, 'p-room')) === 3);
    expect(await count(a, 'p-room')).toBe(3);
    await tabA.request({ type: 'leave_room', id: 'l1', data: { room_id: 'p-room' } });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(observer.frames.filter((f) => f.type === 'presence_diff')).toHaveLength(1);
    await tabB.request({ type: 'leave_room', id: 'l2', data: { room_id: 'p-room' } });
    expect((await observer.next('presence_diff')).data).toEqual({
      room_id: 'p-room',
      joins: [],
      leaves: [{ user_id: 'kim', username: 'kim' }],
    });
  });

  it('purges a node that died without cleaning up: its users leave and go offline', async () => {
    const c = await node('node-c');
    const observer = await login(a, 'obs2');
    await join(observer, 'd-room');
    const doomed = await login(c, 'zed');
    await join(doomed, 'd-room');
    expect((await observer.next('presence_diff')).data.joins).toEqual([{ user_id: 'zed', username: 'zed' }]);
    await until(() => a.app.get(RoomManager).isUserOnline('zed'));
    // Crash node C: no more heartbeats, no goodbye.
    crashClusterNode(c.app);
    const left = await observer.next('presence_diff', 5000);
    expect(left.data).toEqual({ room_id: 'd-room', joins: [], leaves: [{ user_id: 'zed', username: 'zed' }] });
    expect(await a.app.get(RoomManager).isUserOnline('zed')).toBe(false);
    // The counts are taken back right after the leaves are announced.
    await until(
      async () => (await a.app.get(RoomManager).clusterList()).find((r) => r.id === 'd-room')?.client_count === 1,
    );
    doomed.socket.terminate();
    await c.close();
  });

  it('disconnects a user on every node', async () => {
    const tabs = [await login(a, 'eve'), await login(b, 'eve')];
    a.app.get(SessionManager).disconnectUser('eve', 'banned');
    for (const tab of tabs) expect(await tab.closed).toEqual({ code: 4003, reason: 'banned' });
  });

  it('keeps no zero counters in a node’s hashes once its rooms are left', async () => {
    const churner = await login(a, 'churner');
    const rooms = Array.from({ length: 20 }, (_, i) => `churn-${i}`);
    for (const room of rooms) churner.send({ type: 'join_room', data: { room_id: room } });
    for (const room of rooms) churner.send({ type: 'leave_room', data: { room_id: room } });
    expect((await churner.request({ type: 'echo', id: 'done', data: 0 })).type).toBe('echo_response');
    const raw = backend.client();
    const channels = new ClusterChannels(prefix);
    try {
      const fieldsOf = async (key: string) => Object.keys(await raw.hgetall(key));
      await until(async () => (await fieldsOf(channels.nodeRooms('node-a'))).every((f) => !f.startsWith('churn-')));
      expect((await fieldsOf(channels.nodeRooms('node-a'))).filter((f) => f.startsWith('churn-'))).toEqual([]);
      // Presence: no room left in the node's registry, and no share of any of the rooms.
      expect((await raw.smembers(channels.nodePresence('node-a'))).filter((f) => f.startsWith('churn-'))).toEqual([]);
      for (const room of rooms) expect(await raw.exists(channels.presenceShare(room, 'node-a'))).toBe(0);
    } finally {
      raw.disconnect();
    }
  });

  it('kicks exactly the user named, whatever characters its id holds', async () => {
    const mallory = await login(b, 'mallory');
    const crafted = await login(b, 'mallory\nalice');
    a.app.get(SessionManager).disconnectUser('mallory\nalice', 'line\nbreaks');
    expect(await crafted.closed).toEqual({ code: 4003, reason: 'line\nbreaks' });
    expect(await mallory.request({ type: 'echo', id: 'still', data: 1 })).toMatchObject({ type: 'echo_response' });
    // Kicks in another shape are dropped, not guessed at.
    const raw = backend.client();
    const channels = new ClusterChannels(prefix);
    expect(await backend.publish(raw, channels.kick(), 'K\nevil\nmallory\nreason')).toBeGreaterThan(0);
    raw.disconnect();
    expect(await mallory.request({ type: 'echo', id: 'after', data: 2 })).toMatchObject({ type: 'echo_response' });
    await mallory.close();
  });

  it('drops a malformed publication without affecting delivery', async () => {
    const member = await login(b, 'bob');
    await join(member, 'guarded');
    const raw = backend.client();
    const channels = new ClusterChannels(prefix);
    // Each reaches node B (publish returns the number of receivers) and is dropped there.
    expect(await backend.publish(raw, channels.room('guarded'), 'R\nevil\n\n{not json')).toBe(1);
    expect(await backend.publish(raw, channels.room('guarded'), 'Z\ngarbage')).toBe(1);
    expect(await backend.publish(raw, channels.room('guarded'), 'R\nevil\n\n{"type":"x","room":"elsewhere"}')).toBe(1);
    expect(await backend.publish(raw, channels.all(), 'A\nevil\n[1,2]')).toBe(2);
    raw.disconnect();
    await a.app.get(RoomManager).broadcast('guarded', 'chat_message', { content: 'still fine' });
    expect((await member.next('chat_message')).data.content).toBe('still fine');
    expect(
      member.frames.filter((f) => f.type !== 'auth_success' && f.type !== 'connected' && f.type !== 'room_joined'),
    ).toHaveLength(1);
  });
});

describe('Redis faults (e2e)', () => {
  let redis: TestRedis;
  let a: TestApp | undefined;
  let b: TestApp | undefined;

  afterEach(async () => {
    await a?.close();
    await b?.close();
    await redis.stop();
    a = b = undefined;
  });

  it('keeps local delivery while Redis is down, says so in health, and recovers when it is back', async () => {
    redis = await TestRedis.start();
    const make = (nodeId: string) =>
      createTestApp({
        nodeId,
        rateLimit: false,
        cluster: new RedisClusterAdapter({
          url: redis.url,
          prefix: `f${process.pid}`,
          heartbeatInterval: 200,
          nodeTimeout: 1000,
        }),
      });
    a = await make('fa');
    b = await make('fb');
    const onA = await TestClient.connect(a.url);
    const alsoA = await TestClient.connect(a.url);
    const onB = await TestClient.connect(b.url);
    for (const c of [onA, alsoA, onB]) await c.request({ type: 'join_room', id: 'j', data: { room_id: 'resilient' } });

    await redis.stop();
    await until(() => a!.app.get(RealtimeHealth).check().redis === 'down');
    onA.send({ type: 'chat', data: { room_id: 'resilient', content: 'during outage' } });
    const local = await alsoA.next('chat_message');
    expect(local.data.content).toBe('during outage');
    expect(local.seq).toBe(1);

    await redis.spawn();
    await until(
      () => a!.app.get(RealtimeHealth).check().redis === 'up' && b!.app.get(RealtimeHealth).check().redis === 'up',
      10_000,
    );
    // Subscriptions come back by themselves: cross-node delivery works again. Each try is a new
    // message, and every one of them is checked on both nodes below.
    const after: string[] = [];
    const chats = (client: TestClient) => client.frames.filter((f) => f.type === 'chat_message');
    await until(async () => {
      const content = `after ${after.length + 1}`;
      after.push(content);
      onA.send({ type: 'chat', data: { room_id: 'resilient', content } });
      await until(() => chats(alsoA).some((f) => f.data.content === content));
      return chats(onB).some((f) => f.data.content === content);
    }, 10_000);
    // Node A: everything once, in order.
    for (const c of [onA, alsoA]) expect(chats(c).map((f) => f.data.content)).toEqual(['during outage', ...after]);
    // Node B: nothing of the outage, then a gap-free run that reaches the last message.
    const atB = chats(onB);
    const firstAtB = after.indexOf(atB[0].data.content as string);
    expect(firstAtB).toBeGreaterThanOrEqual(0);
    expect(atB.map((f) => f.data.content)).toEqual(after.slice(firstAtB));
    expect(atB.map((f) => f.seq)).toEqual(atB.map((_, i) => (atB[0].seq as number) + i));
    for (const c of [onA, alsoA, onB]) await c.close();
  });
});

describe('the sample with REDIS_URL (e2e)', () => {
  const cleanup = useCleanup();

  it('reports redis up, then degraded with HTTP 200 while Redis is down, then ok again', async () => {
    const { Test } = await import('@nestjs/testing');
    const { AppModule } = await import('../../sample/app.module.js');
    const { loadSampleConfig } = await import('../../sample/sample.config.js');
    const redis = cleanup.track(await TestRedis.start());
    const config = loadSampleConfig({
      JWT_SECRET: TEST_SECRET,
      REDIS_URL: redis.url,
      NODE_ID: 's1',
      LOG_LEVEL: 'error',
    });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
    const app = cleanup.track(moduleRef.createNestApplication({ logger: false }));
    await app.listen(0, '127.0.0.1');
    const http = `http://127.0.0.1:${app.getHttpServer().address().port}`;
    expect(await (await fetch(`${http}/health`)).json()).toEqual({ status: 'ok', node_id: 's1', redis: 'up' });
    await redis.stop();
    await until(async () => ((await (await fetch(`${http}/health`)).json()) as { redis: string }).redis === 'down');
    const degraded = await fetch(`${http}/health`);
    expect(degraded.status).toBe(200);
    expect(await degraded.json()).toEqual({ status: 'degraded', node_id: 's1', redis: 'down' });
    await redis.spawn();
    await until(
      async () => ((await (await fetch(`${http}/health`)).json()) as { status: string }).status === 'ok',
      10_000,
    );
  });
});

describe('the sample with REDIS_CLUSTER_NODES (e2e)', () => {
  it('reads the seeds, and two nodes on a 3-master Redis Cluster are one chat', async () => {
    const { Test } = await import('@nestjs/testing');
    const { AppModule } = await import('../../sample/app.module.js');
    const { loadSampleConfig } = await import('../../sample/sample.config.js');
    expect(() => loadSampleConfig({ REDIS_CLUSTER_NODES: '127.0.0.1' })).toThrow(/host:port/);
    expect(() => loadSampleConfig({ REDIS_URL: 'redis://x:1', REDIS_CLUSTER_NODES: 'x:1' })).toThrow(/not both/);
    expect(loadSampleConfig({ REDIS_CLUSTER_NODES: ' a:7000,[::1]:7001 ' }).redisClusterNodes).toEqual([
      { host: 'a', port: 7000 },
      { host: '::1', port: 7001 },
    ]);
    const cluster = await TestRedisCluster.start(3);
    const apps: { close(): Promise<void> }[] = [];
    const clients: TestClient[] = [];
    try {
      const urls: string[] = [];
      for (const nodeId of ['c1', 'c2']) {
        const config = loadSampleConfig({
          JWT_SECRET: TEST_SECRET,
          REDIS_CLUSTER_NODES: cluster.nodes.map(({ host, port }) => `${host}:${port}`).join(','),
          NODE_ID: nodeId,
          LOG_LEVEL: 'error',
        });
        const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
        const app = moduleRef.createNestApplication({ logger: false });
        apps.push(app);
        await app.listen(0, '127.0.0.1');
        const { port } = app.getHttpServer().address();
        urls.push(`127.0.0.1:${port}`);
        expect(await (await fetch(`http://127.0.0.1:${port}/health`)).json()).toEqual({
          status: 'ok',
          node_id: nodeId,
          redis: 'up',
        });
      }
      const onSecond = await TestClient.connect(`ws://${urls[1]}/ws?token=${hsToken({ user_id: 'b' })}`);
      clients.push(onSecond);
      await onSecond.next('auth_success');
      expect((await onSecond.request({ type: 'join_room', id: 'j', data: { room_id: 'lobby' } })).type).toBe(
        'room_joined',
      );
      const posted = await fetch(`http://${urls[0]}/rooms/lobby/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${hsToken({ user_id: 'a' })}` },
        body: JSON.stringify({ content: 'across the cluster' }),
      });
      expect(posted.status).toBe(202);
      expect(await onSecond.next('chat_message')).toMatchObject({
        room: 'lobby',
        seq: 1,
        data: { user_id: 'a', content: 'across the cluster' },
      });
    } finally {
      for (const client of clients) await client.close();
      for (const app of apps) await app.close();
      await cluster.stop();
    }
  }, 60_000);
});

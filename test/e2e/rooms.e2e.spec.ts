import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { firstValueFrom, take, toArray } from 'rxjs';
import { ConnectionManager, EventPublisher, RoomManager, SessionManager } from '../../lib/index.js';
import { BroadcastEngine } from '../../lib/broadcast/broadcast.engine.js';
import { RealtimeStats } from '../../lib/stats/realtime-stats.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { type Frame, TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { ClosedRoomsGuard, RoomEventRecorder, VipJoinPolicy } from './rooms-fixtures.js';
import { until } from '../support/until.js';

const ROOM_SETTINGS = (roomId: string) =>
  roomId.startsWith('big-')
    ? { presence: false }
    : roomId.startsWith('tick-')
      ? { slowConsumer: 'conflate' as const }
      : roomId.startsWith('capped-')
        ? { presenceDiffLimit: 2 }
        : roomId.startsWith('lossy-')
          ? { slowConsumer: 'drop' as const }
          : {};

describe('rooms, presence and messaging (e2e)', () => {
  let t: TestApp;
  const open: TestClient[] = [];

  async function login(userId: string, roles: string[] = [], username = userId): Promise<TestClient> {
    const client = await TestClient.connect(`${t.url}?token=${hsToken({ user_id: userId, username, roles })}`);
    await client.next('auth_success');
    open.push(client);
    return client;
  }

  async function join(client: TestClient, roomId: string): Promise<Frame> {
    return client.request({ type: 'join_room', id: `j-${roomId}-${Math.random()}`, data: { room_id: roomId } });
  }

  beforeAll(async () => {
    t = await createTestApp(
      { auth: { secret: TEST_SECRET }, rooms: ROOM_SETTINGS, joinGuards: [ClosedRoomsGuard], rateLimit: false },
      { providers: [RoomEventRecorder] },
      undefined,
      { joinPolicy: VipJoinPolicy },
    );
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    await until(() => t.app.get(ConnectionManager).count === 0);
  });
  afterAll(() => t.close());

  it('joins with room_joined and client_count, and tells members when a user arrives', async () => {
    const ann = await login('ann');
    expect(await ann.request({ type: 'join_room', id: 'j1', data: { room_id: 'lobby' } })).toEqual({
      type: 'room_joined',
      id: 'j1',
      // The room's position at the join: the next broadcast is seq 1 of this epoch.
      data: { room_id: 'lobby', client_count: 1, seq: 0, epoch: expect.any(String) },
      timestamp: expect.any(String),
    });
    const bob = await login('bob', [], 'Bob');
    const first = (await join(bob, 'lobby')).data;
    expect(first).toEqual({ room_id: 'lobby', client_count: 2, seq: 0, epoch: expect.any(String) });
    expect(await ann.next('presence_diff')).toMatchObject({
      room: 'lobby',
      data: { room_id: 'lobby', joins: [{ user_id: 'bob', username: 'Bob' }], leaves: [] },
    });
    const rooms = t.app.get(RoomManager);
    expect(rooms.get('lobby')).toEqual({ id: 'lobby', client_count: 2, metadata: {} });
    expect(rooms.setMetadata('lobby', { topic: 'welcome' })).toBe(true);
    expect(rooms.setMetadata('no-such-room', { topic: 'x' })).toBe(false);
    expect(rooms.getMetadata('lobby')).toEqual({ topic: 'welcome' });
    expect(rooms.list()).toContainEqual({ id: 'lobby', client_count: 2, metadata: { topic: 'welcome' } });
    expect(
      rooms
        .members('lobby')
        .map((c) => c.userId)
        .sort(),
    ).toEqual(['ann', 'bob']);
  });

  it('broadcasts chat to every member, sender included, with room, gap-free seq and epoch, and the real identity', async () => {
    const ann = await login('ann', [], 'Ann');
    const bob = await login('bob');
    await join(ann, 'chat-1');
    await join(bob, 'chat-1');
    for (const content of ['one', 'two', 'three']) {
      ann.send({ type: 'chat', data: { room_id: 'chat-1', content, user_id: 'mallory', username: 'Mallory' } });
    }
    const received = [bob, ann].map(async (client) => [
      await client.next('chat_message'),
      await client.next('chat_message'),
      await client.next('chat_message'),
    ]);
    const [atBob, atAnn] = await Promise.all(received);
    expect(atBob.map((f) => f.seq)).toEqual([1, 2, 3]);
    expect(atAnn.map((f) => f.seq)).toEqual([1, 2, 3]);
    expect(new Set([...atBob, ...atAnn].map((f) => f.epoch)).size).toBe(1);
    expect(atBob[0]).toMatchObject({
      type: 'chat_message',
      room: 'chat-1',
      data: { room_id: 'chat-1', user_id: 'ann', username: 'Ann', content: 'one' },
    });
    expect(Date.parse(atBob[0].data.timestamp)).not.toBeNaN();
    expect(atBob.map((f) => f.data.content)).toEqual(['one', 'two', 'three']);
  });

  it('refuses chat and presence outside the room with NOT_IN_ROOM, and bad fields with BAD_REQUEST', async () => {
    const ann = await login('ann');
    expect((await ann.request({ type: 'chat', id: 'c1', data: { room_id: 'elsewhere', content: 'x' } })).data).toEqual({
      code: 'NOT_IN_ROOM',
      message: 'join room "elsewhere" first',
    });
    expect((await ann.request({ type: 'presence', id: 'p1', data: { room_id: 'elsewhere' } })).data.code).toBe(
      'NOT_IN_ROOM',
    );
    await join(ann, 'r');
    expect((await ann.request({ type: 'chat', id: 'c2', data: { room_id: 'r' } })).data).toEqual({
      code: 'BAD_REQUEST',
      message: 'data.content must be a non-empty string',
    });
    expect((await ann.request({ type: 'join_room', id: 'c3', data: { room_id: 'has space' } })).data).toEqual({
      code: 'BAD_REQUEST',
      message: 'room_id must be 1..128 characters of [A-Za-z0-9_.:@#/-]',
    });
    expect((await ann.request({ type: 'join_room', id: 'c4', data: {} })).data.code).toBe('BAD_REQUEST');
    expect((await ann.request({ type: 'join_room', id: 'c5', data: { room_id: 'x'.repeat(129) } })).data.code).toBe(
      'BAD_REQUEST',
    );
  });

  it('leaves with room_left and tells the others; chat is then NOT_IN_ROOM', async () => {
    const ann = await login('ann');
    const bob = await login('bob');
    await join(ann, 'leave-me');
    await join(bob, 'leave-me');
    await ann.next('presence_diff');
    expect(await bob.request({ type: 'leave_room', id: 'l1', data: { room_id: 'leave-me' } })).toMatchObject({
      type: 'room_left',
      id: 'l1',
      data: { room_id: 'leave-me' },
    });
    expect((await ann.next('presence_diff')).data).toEqual({
      room_id: 'leave-me',
      joins: [],
      leaves: [{ user_id: 'bob', username: 'bob' }],
    });
    expect(
      (await bob.request({ type: 'chat', id: 'l2', data: { room_id: 'leave-me', content: 'hi' } })).data.code,
    ).toBe('NOT_IN_ROOM');
  });

  it('counts a user with several tabs as one presence', async () => {
    const ann = await login('ann');
    const bob1 = await login('bob');
    const bob2 = await login('bob');
    await join(ann, 'tabs');
    await join(bob1, 'tabs');
    await join(bob2, 'tabs');
    expect(await ann.request({ type: 'presence', id: 'ps', data: { room_id: 'tabs' } })).toMatchObject({
      type: 'presence_state',
      data: {
        room_id: 'tabs',
        users: expect.arrayContaining([
          { user_id: 'ann', username: 'ann', connections: 1 },
          { user_id: 'bob', username: 'bob', connections: 2 },
        ]),
      },
    });
    await bob1.close();
    await until(() => t.app.get(RoomManager).clientCount('tabs') === 2);
    await bob2.close();
    const diffs: Frame[] = [];
    await until(() => {
      diffs.push(...ann.frames.filter((f) => f.type === 'presence_diff' && !diffs.includes(f)));
      return diffs.some((f) => f.data.leaves.length > 0);
    });
    // One join and one leave for bob, whatever his number of tabs.
    expect(diffs.filter((f) => f.data.joins.some((j: { user_id: string }) => j.user_id === 'bob'))).toHaveLength(1);
    expect(diffs.filter((f) => f.data.leaves.some((j: { user_id: string }) => j.user_id === 'bob'))).toHaveLength(1);
  });

  it('gathers presence diffs beyond presenceDiffLimit writes per interval into one diff per window', async () => {
    const [a, b, c, d] = [await login('a1'), await login('b1'), await login('c1'), await login('d1')];
    await join(a, 'capped-room');
    await join(b, 'capped-room');
    expect((await a.next('presence_diff')).data.joins).toEqual([{ user_id: 'b1', username: 'b1' }]);
    const started = Date.now();
    // c's diff would cost 2 more writes: above the budget of 2, it waits for the window, and d's
    // (at once, it would overtake c's) with it.
    await join(c, 'capped-room');
    await join(d, 'capped-room');
    const state = await a.request({ type: 'presence', id: 'cap', data: { room_id: 'capped-room' } });
    expect(state.data.users).toHaveLength(4);
    const gathered = await a.next('presence_diff');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(gathered.data).toEqual({
      room_id: 'capped-room',
      joins: [
        { user_id: 'c1', username: 'c1' },
        { user_id: 'd1', username: 'd1' },
      ],
      leaves: [],
    });
    expect(a.frames.filter((f) => f.type === 'presence_diff')).toHaveLength(2);
  });

  it('switches presence off per room', async () => {
    const ann = await login('ann');
    const bob = await login('bob');
    await join(ann, 'big-hall');
    await join(bob, 'big-hall');
    expect((await ann.request({ type: 'presence', id: 'pp', data: { room_id: 'big-hall' } })).data.code).toBe(
      'FORBIDDEN',
    );
    expect(ann.frames.some((f) => f.type === 'presence_diff')).toBe(false);
  });

  it('delivers a private message to every connection of the target, from the real sender', async () => {
    const ann = await login('ann', [], 'Ann');
    const bob1 = await login('bob');
    const bob2 = await login('bob');
    ann.send({ type: 'private_message', data: { target_user_id: 'bob', content: 'psst', from_user_id: 'mallory' } });
    for (const bob of [bob1, bob2]) {
      const frame = await bob.next('private_message');
      expect(frame.data).toEqual({
        from_user_id: 'ann',
        from_username: 'Ann',
        content: 'psst',
        timestamp: expect.any(String),
      });
    }
    expect(ann.frames.some((f) => f.type === 'private_message')).toBe(false);
    expect(
      (await ann.request({ type: 'private_message', id: 'pm', data: { target_user_id: 'nobody', content: 'hi' } }))
        .data,
    ).toEqual({
      code: 'USER_OFFLINE',
      message: 'user "nobody" is offline',
    });
  });

  it('sends admin announcements to everyone, only from admins', async () => {
    const root = await login('root', ['admin']);
    const ann = await login('ann');
    const bob = await login('bob');
    root.send({ type: 'admin_message', data: { content: 'restart at 5', from_user_id: 'ann' } });
    for (const client of [root, ann, bob]) {
      expect((await client.next('announcement')).data).toEqual({
        content: 'restart at 5',
        from_user_id: 'root',
        timestamp: expect.any(String),
      });
    }
    expect((await ann.request({ type: 'admin_message', id: 'am', data: { content: 'x' } })).type).toBe(
      'authorization_error',
    );
  });

  it('applies the join policy and join guards with FORBIDDEN, and re-checks rooms when the user changes', async () => {
    const vip = await login('vera', ['vip']);
    const pleb = await login('paul');
    expect((await join(vip, 'vip-lounge')).type).toBe('room_joined');
    expect((await join(pleb, 'vip-lounge')).data).toEqual({
      code: 'FORBIDDEN',
      message: 'not allowed to join room "vip-lounge"',
    });
    expect((await join(vip, 'closed-garden')).data.code).toBe('FORBIDDEN');
    await join(vip, 'open-room');
    const observer = await login('olga');
    await join(observer, 'open-room');
    const diffsBefore = observer.frames.filter((f) => f.type === 'presence_diff').length;
    // Vera's connection re-authenticates as Paul: the VIP room is left, the open one kept.
    await vip.request({ type: 'auth', id: 'reauth', data: { token: hsToken({ user_id: 'paul' }) } });
    expect(vip.frames.find((f) => f.type === 'room_left')?.data).toEqual({
      room_id: 'vip-lounge',
      reason: 'forbidden',
    });
    const rooms = t.app.get(RoomManager);
    expect(rooms.has('vip-lounge')).toBe(false);
    expect(rooms.presence('open-room')).toEqual([
      { user_id: 'olga', username: 'olga', connections: 1 },
      { user_id: 'paul', username: 'paul', connections: 1 },
    ]);
    // The other members see Vera leave and Paul arrive; the connection itself stayed a member.
    await until(() => observer.frames.filter((f) => f.type === 'presence_diff').length === diffsBefore + 2);
    const diffs = observer.frames.filter((f) => f.type === 'presence_diff').slice(diffsBefore);
    expect(diffs.map((f) => f.data)).toEqual([
      { room_id: 'open-room', joins: [], leaves: [{ user_id: 'vera', username: 'vera' }] },
      { room_id: 'open-room', joins: [{ user_id: 'paul', username: 'paul' }], leaves: [] },
    ]);
    expect(vip.frames.some((f) => f.type === 'room_left' && f.data.room_id === 'open-room')).toBe(false);
    observer.send({ type: 'chat', data: { room_id: 'open-room', content: 'still here?' } });
    expect((await vip.next('chat_message')).data.content).toBe('still here?');
  });

  it('sends room_joined before any broadcast that follows the join, at the position right before the first', async () => {
    const talker = await login('talker');
    await join(talker, 'busy');
    const newcomer = await login('newcomer');
    for (let i = 0; i < 150; i++) talker.send({ type: 'chat', data: { room_id: 'busy', content: `m${i}` } });
    newcomer.send({ type: 'join_room', id: 'late', data: { room_id: 'busy' } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (let i = 150; i < 300; i++) talker.send({ type: 'chat', data: { room_id: 'busy', content: `m${i}` } });
    await until(() => talker.frames.filter((f) => f.type === 'chat_message').length === 300);
    const joined = await newcomer.next('room_joined');
    const position = joined.data.seq as number;
    // Joined mid-stream: the second burst was sent after the join.
    expect(position).toBeLessThan(300);
    await until(() => newcomer.frames.filter((f) => f.type === 'chat_message').length === 300 - position);
    const types = newcomer.frames.map((f) => f.type);
    expect(types.slice(0, types.indexOf('room_joined'))).not.toContain('chat_message');
    // Exactly what followed its position: seq position+1 … 300, no gap, nothing before, nothing twice.
    const seqs = newcomer.frames.filter((f) => f.type === 'chat_message').map((f) => f.seq as number);
    expect(seqs).toEqual(Array.from({ length: 300 - position }, (_, i) => position + 1 + i));
  });

  it('publishes lifecycle events to observers and to @OnRealtimeEvent methods', async () => {
    const events = t.app.get(EventPublisher);
    const recorder = t.app.get(RoomEventRecorder);
    const left = firstValueFrom(events.on('room.left').pipe(take(1), toArray()));
    const ann = await login('ann');
    await join(ann, 'evented');
    expect(recorder.joined).toContain('ann@evented#1');
    await ann.request({ type: 'leave_room', id: 'x', data: { room_id: 'evented' } });
    expect((await left).map((e) => [e.connection.userId, e.roomId, e.reason])).toEqual([['ann', 'evented', 'leave']]);
    const closedBefore = recorder.closed.length;
    await ann.close();
    await until(() => recorder.closed.length === closedBefore + 1);
    expect(recorder.closed.at(-1)).toBe(1005);
  });

  it('disconnects every connection of a user with 4003 and forgets their sessions', async () => {
    const sessions = t.app.get(SessionManager);
    const tabs = [await login('eve'), await login('eve')];
    const other = await login('ann');
    expect(sessions.byUser('eve')).toHaveLength(2);
    expect(sessions.disconnectUser('eve', 'banned')).toBe(2);
    for (const tab of tabs) expect(await tab.closed).toEqual({ code: 4003, reason: 'banned' });
    expect(sessions.byUser('eve')).toHaveLength(0);
    expect((await other.request({ type: 'echo', id: 'e', data: 1 })).type).toBe('echo_response');
  });

  it('leaves no room, membership or connection behind after 1 000 connect/join/disconnect cycles', async () => {
    const rooms = t.app.get(RoomManager);
    const manager = t.app.get(ConnectionManager);
    const anchor = await login('anchor');
    await join(anchor, 'cycle-0');
    for (let batch = 0; batch < 20; batch++) {
      const clients = await Promise.all(Array.from({ length: 50 }, (_, i) => login(`cyc-${batch}-${i}`)));
      await Promise.all(clients.map((c, i) => join(c, `cycle-${i % 5}`)));
      await Promise.all(clients.map((c) => (c.socket.terminate(), c.closed)));
      open.splice(open.indexOf(clients[0]), clients.length);
    }
    await until(() => manager.count === 1);
    expect([...rooms.roomIds()]).toEqual(['cycle-0']);
    expect(rooms.members('cycle-0')).toHaveLength(1);
    expect(rooms.presence('cycle-0')).toEqual([{ user_id: 'anchor', username: 'anchor', connections: 1 }]);
    expect([...manager.userIds()]).toEqual(['anchor']);
    expect(t.app.get(BroadcastEngine).conflatingCount).toBe(0);
  });
});

describe('sessions (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('keeps a dropped connection’s session with its rooms for sessionTtl, then purges it', async () => {
    t = await createTestApp({ sessionTtl: 300, cleanupInterval: 50, auth: { secret: TEST_SECRET } });
    const sessions = t.app.get(SessionManager);
    const client = await TestClient.connect(`${t.url}?token=${hsToken({ user_id: 'sam' })}`);
    const sessionId = (await client.next('connected')).data.session_id as string;
    await client.request({ type: 'join_room', id: 'j', data: { room_id: 'kept' } });
    const session = sessions.get(sessionId)!;
    expect(session.userId).toBe('sam');
    expect(session.connection).toBeDefined();
    await client.close();
    await until(() => session.connection === undefined);
    expect([...session.rooms]).toEqual(['kept']);
    expect(sessions.get(sessionId)).toBe(session);
    await until(() => sessions.get(sessionId) === undefined, 3000);
    expect(sessions.count).toBe(0);
  });
});

describe('slow consumers (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const big = 'x'.repeat(32 * 1024);

  async function setup(): Promise<{ rooms: RoomManager; fast: TestClient[]; slow: TestClient; slowId: string }> {
    t = await createTestApp({ writeBufferSize: 256 * 1024, rateLimit: false, maxMessageSize: 1024 * 1024 });
    const rooms = t.app.get(RoomManager);
    const fast = await Promise.all([1, 2].map(() => TestClient.connect(t!.url)));
    const slow = await TestClient.connect(t.url);
    const slowId = (await slow.next('connected')).data.client_id as string;
    return { rooms, fast, slow, slowId };
  }

  async function fill(rooms: RoomManager, roomId: string, slowId: string): Promise<number> {
    const slowSocket = t!.app.get(ConnectionManager).get(slowId)!.socket;
    let sent = 0;
    // Broadcast until the slow reader's buffer is past the limit (kernel buffers fill first).
    while (slowSocket.readyState === 1 && slowSocket.bufferedAmount <= 256 * 1024 && sent < 2000) {
      rooms.broadcast(roomId, 'bulk', { n: sent++, big });
      if (sent % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return sent;
  }

  it('closes a reader that stops reading with 1013 while the others receive everything', async () => {
    const { rooms, fast, slow, slowId } = await setup();
    for (const c of [...fast, slow]) await c.request({ type: 'join_room', id: 'j', data: { room_id: 'firehose' } });
    slow.socket.pause();
    const sent = await fill(rooms, 'firehose', slowId);
    rooms.broadcast('firehose', 'bulk', { n: sent, big });
    expect(t!.app.get(RealtimeStats).slowConsumerCloses).toBe(1);
    for (const c of fast) {
      await until(() => c.frames.filter((f) => f.type === 'bulk').length === sent + 1, 10_000);
      expect(c.frames.filter((f) => f.type === 'bulk').map((f) => f.data.n)).toEqual(
        Array.from({ length: sent + 1 }, (_, i) => i),
      );
    }
    slow.socket.resume();
    expect((await slow.closed).code).toBe(1013);
  });

  it('skips frames for a slow reader under the drop policy without closing it', async () => {
    const { rooms, fast, slow, slowId } = await setup();
    for (const c of [...fast, slow]) await c.request({ type: 'join_room', id: 'j', data: { room_id: 'lossy' } });
    slow.socket.pause();
    const sent = await fill(rooms, 'lossy', slowId);
    for (let i = 0; i < 10; i++) rooms.broadcast('lossy', 'bulk', { n: sent + i, big }, { slowConsumer: 'drop' });
    expect(t!.app.get(RealtimeStats).droppedFrames).toBeGreaterThanOrEqual(10);
    slow.socket.resume();
    await until(() => fast[0].frames.filter((f) => f.type === 'bulk').length === sent + 10, 10_000);
    expect(slow.socket.readyState).toBe(1);
    expect(t!.app.get(RealtimeStats).slowConsumerCloses).toBe(0);
  });

  it('conflates a slow reader to the latest value per key and delivers it when the reader catches up', async () => {
    const { rooms, fast, slow, slowId } = await setup();
    for (const c of [...fast, slow]) await c.request({ type: 'join_room', id: 'j', data: { room_id: 'tick-eurusd' } });
    slow.socket.pause();
    await fill(rooms, 'tick-eurusd', slowId);
    for (let price = 1; price <= 100; price++) {
      rooms.broadcast('tick-eurusd', 'tick', { price }, { slowConsumer: 'conflate' });
    }
    expect(t!.app.get(BroadcastEngine).conflatingCount).toBe(1);
    slow.socket.resume();
    await until(() => slow.frames.some((f) => f.type === 'tick'), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ticks = slow.frames.filter((f) => f.type === 'tick').map((f) => f.data.price);
    expect(ticks.at(-1)).toBe(100);
    expect(ticks.length).toBeLessThan(100);
    expect(fast[0].frames.filter((f) => f.type === 'tick').map((f) => f.data.price)).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    expect(slow.socket.readyState).toBe(1);
    expect(t!.app.get(BroadcastEngine).conflatingCount).toBe(0);
  });
});

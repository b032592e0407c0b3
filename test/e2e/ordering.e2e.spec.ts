import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { ConnectionManager, MessageData, OnMessage, RoomManager } from '../../lib/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { type Frame, TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';
import { VipJoinPolicy } from './rooms-fixtures.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Handlers that take time, ordered (the default) and declared concurrent. */
@Injectable()
class SlowHandlers {
  /** Order in which the handlers started, and in which `slow` ones finished. */
  readonly started: string[] = [];
  readonly finished: string[] = [];
  private gate: Promise<void> | undefined;

  /** Holds `slow` handlers (instead of their 60 ms) until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise((resolve) => (release = resolve));
    return () => {
      this.gate = undefined;
      release();
    };
  }

  @OnMessage('slow', { reply: 'slow_done' })
  async slow(@MessageData('label') label: string): Promise<string> {
    this.started.push(label);
    await (this.gate ?? sleep(60));
    this.finished.push(label);
    return label;
  }

  @OnMessage('search', { reply: 'search_done', concurrent: true })
  async search(@MessageData('label') label: string): Promise<string> {
    this.started.push(label);
    await sleep(150);
    return label;
  }
}

/** Waits until the client has received `count` frames matching `predicate`. */
async function received(client: TestClient, count: number, predicate: (f: Frame) => boolean = () => true) {
  await until(() => client.frames.filter(predicate).length >= count, 5000);
  return client.frames.filter(predicate);
}

describe('per-connection ordering: pipelined clients (e2e)', () => {
  let t: TestApp;
  const open: TestClient[] = [];

  async function connect(query = ''): Promise<TestClient> {
    const client = await TestClient.connect(`${t.url}${query}`);
    open.push(client);
    await client.next('connected');
    return client;
  }

  async function login(userId: string): Promise<TestClient> {
    const client = await connect(`?token=${hsToken({ user_id: userId })}`);
    await client.next('auth_success');
    return client;
  }

  beforeAll(async () => {
    t = await createTestApp(
      { auth: { secret: TEST_SECRET, required: true }, rateLimit: false },
      { providers: [SlowHandlers] },
      undefined,
      // An asynchronous-looking policy step on every join: the join is not done in one tick.
      { joinPolicy: VipJoinPolicy },
    );
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    await until(() => t.app.get(ConnectionManager).count === 0);
  });
  afterAll(() => t.close());

  it('auth, join_room and chat sent back to back work for 30 of 30 concurrent clients', async () => {
    const clients = await Promise.all(Array.from({ length: 30 }, () => connect()));
    clients.forEach((client, i) => {
      client.send({ type: 'auth', id: 'a', data: { token: hsToken({ user_id: `u${i}` }) } });
      client.send({ type: 'join_room', id: 'j', data: { room_id: 'herd' } });
      client.send({ type: 'chat', id: 'c', data: { room_id: 'herd', content: `hello from u${i}` } });
    });
    for (const [i, client] of clients.entries()) {
      // Every chat reaches every member that had joined when it was sent; this client's own chat
      // is the first chat it sees after its own room_joined.
      const chats = await received(client, 1, (f) => f.type === 'chat_message');
      const types = client.frames.map((f) => f.type).filter((type) => type !== 'presence_diff');
      expect(types.slice(0, 3)).toEqual(['connected', 'auth_success', 'room_joined']);
      expect(client.frames.find((f) => f.type === 'error')).toBeUndefined();
      expect(client.frames[1]).toMatchObject({ id: 'a', data: { user_id: `u${i}` } });
      expect(chats[0]).toMatchObject({ room: 'herd', data: { user_id: `u${i}`, content: `hello from u${i}` } });
    }
  });

  it('join_room, chat, leave_room back to back: joined, the chat, left, and no longer a member', async () => {
    const ann = await login('ann');
    for (let round = 0; round < 10; round++) {
      const room = `jcl-${round}`;
      ann.send({ type: 'join_room', id: `j${round}`, data: { room_id: room } });
      ann.send({ type: 'chat', id: `c${round}`, data: { room_id: room, content: `m${round}` } });
      ann.send({ type: 'leave_room', id: `l${round}`, data: { room_id: room } });
      expect(await ann.next()).toMatchObject({ type: 'room_joined', id: `j${round}`, data: { room_id: room } });
      const chat = await ann.next();
      expect(chat).toMatchObject({ type: 'chat_message', room, data: { content: `m${round}` } });
      expect(chat.id).toBeUndefined();
      expect(await ann.next()).toMatchObject({ type: 'room_left', id: `l${round}`, data: { room_id: room } });
      // Really gone: a broadcast from the server side does not reach it.
      expect(t.app.get(RoomManager).members(room)).toHaveLength(0);
      await t.app.get(RoomManager).broadcast(room, 'notice', { round });
    }
    ann.send({ type: 'ping', id: 'last' });
    expect(await ann.next()).toMatchObject({ type: 'pong', id: 'last' });
    expect(ann.frames.some((f) => f.type === 'notice' || f.type === 'error')).toBe(false);
  });

  it('two re-authentications in flight at once leave no ghost in presence', async () => {
    const watcher = await login('watcher');
    await watcher.request({ type: 'join_room', id: 'w', data: { room_id: 'ghosts' } });
    const tab = await login('first');
    await tab.request({ type: 'join_room', id: 'j', data: { room_id: 'ghosts' } });
    tab.send({ type: 'auth', id: 'a1', data: { token: hsToken({ user_id: 'second' }) } });
    tab.send({ type: 'auth', id: 'a2', data: { token: hsToken({ user_id: 'third' }) } });
    tab.send({ type: 'presence', id: 'p', data: { room_id: 'ghosts' } });
    // Its own presence moves are announced to it too (presence_diff); the replies come in order.
    await received(tab, 1, (f) => f.type === 'presence_state');
    const replies = tab.frames.filter((f) => f.id !== undefined && f.type !== 'room_joined');
    expect(replies.map((f) => [f.type, f.id, f.data.user_id])).toEqual([
      ['auth_success', 'a1', 'second'],
      ['auth_success', 'a2', 'third'],
      ['presence_state', 'p', undefined],
    ]);
    const presence = replies[2];
    expect(presence.data.users.map((u: { user_id: string }) => u.user_id).sort()).toEqual(['third', 'watcher']);
    await tab.close();
    await until(() => t.app.get(RoomManager).clientCount('ghosts') === 1);
    const state = await watcher.request({ type: 'presence', id: 'p2', data: { room_id: 'ghosts' } });
    expect(state.data.users).toEqual([{ user_id: 'watcher', username: 'watcher', connections: 1 }]);
  });

  it('answers every message in the order sent, errors included', async () => {
    const ann = await login('ann');
    ann.send({ type: 'slow', id: 1, data: { label: 'one' } });
    ann.sendRaw('{not json');
    ann.send({ type: 'nope', id: 2 });
    ann.send({ type: 'echo', id: 3, data: 'x' });
    ann.send({ type: 'chat', id: 4, data: { room_id: 'nowhere', content: 'x' } });
    ann.send({ type: 'slow', id: 5, data: { label: 'five' } });
    ann.send({ type: 'ping', id: 6 });
    const frames = await received(ann, 8);
    expect(frames.slice(2).map((f) => [f.type, f.id, f.data?.code])).toEqual([
      ['slow_done', 1, undefined],
      ['error', undefined, 'BAD_MESSAGE'],
      ['error', 2, 'UNKNOWN_TYPE'],
      ['echo_response', 3, undefined],
      ['error', 4, 'NOT_IN_ROOM'],
      ['slow_done', 5, undefined],
      ['pong', 6, undefined],
    ]);
  });

  it('a concurrent handler lets later messages start; its reply still carries its id', async () => {
    const handlers = t.app.get(SlowHandlers);
    handlers.started.length = 0;
    const ann = await login('ann');
    ann.send({ type: 'search', id: 's', data: { label: 'search' } });
    ann.send({ type: 'slow', id: 'o', data: { label: 'ordered' } });
    ann.send({ type: 'echo', id: 'e', data: 'e' });
    const frames = await received(ann, 5);
    expect(frames.slice(2).map((f) => [f.type, f.id])).toEqual([
      ['slow_done', 'o'],
      ['echo_response', 'e'],
      ['search_done', 's'],
    ]);
    expect(handlers.started).toEqual(['search', 'ordered']);
  });

  it('an ordered slow handler holds the later messages back until its reply', async () => {
    const handlers = t.app.get(SlowHandlers);
    handlers.started.length = 0;
    const ann = await login('ann');
    const other = await login('other');
    const release = handlers.hold();
    ann.send({ type: 'slow', id: 'a', data: { label: 'a' } });
    ann.send({ type: 'slow', id: 'b', data: { label: 'b' } });
    await until(() => handlers.started.length > 0);
    // Another connection is served meanwhile: had the second started, it would have by now.
    await other.request({ type: 'ping', id: 'marker' });
    // The second has not started while the first is under way.
    expect(handlers.started).toEqual(['a']);
    release();
    const frames = await received(ann, 4);
    expect(frames.slice(2).map((f) => f.id)).toEqual(['a', 'b']);
  });

  it('drops what a closed connection had queued: no effect after the close', async () => {
    const handlers = t.app.get(SlowHandlers);
    handlers.started.length = 0;
    const ann = await login('ann');
    ann.send({ type: 'slow', id: 'a', data: { label: 'before-close' } });
    ann.send({ type: 'join_room', id: 'j', data: { room_id: 'after-close' } });
    ann.send({ type: 'slow', id: 'b', data: { label: 'after-close' } });
    ann.socket.terminate();
    await ann.closed;
    await until(() => handlers.finished.includes('before-close'));
    // Another connection is served after that: had a queued message run, it would have by now.
    const other = await login('other');
    await other.request({ type: 'ping', id: 'marker' });
    expect(handlers.started).toEqual(['before-close']);
    expect(t.app.get(RoomManager).has('after-close')).toBe(false);
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChatMessageData, RealtimeClient, RealtimeRequestError } from '../../lib/client/index.js';
import { until } from '../support/until.js';
import { nextEvent, SampleServer } from './sample-server.js';

/**
 * `join`, `chat` and `leave` called back to back without awaiting (PROTOCOL.md, "Ordering"):
 * each resolves or rejects with what the server did, in the order called, and the client's rooms
 * follow the same order — on the live connection and across a reconnect.
 */
describe('RealtimeClient: pipelined join / chat / leave against the sample server', () => {
  let server: SampleServer;
  const clients: RealtimeClient[] = [];
  const track = (client: RealtimeClient) => (clients.push(client), client);

  beforeAll(async () => {
    server = await SampleServer.start({ RATE_LIMIT_PER_SEC: '10000', RATE_LIMIT_BURST: '10000' });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.disconnect()));
  });
  afterAll(() => server.close());

  const serverRooms = (userId: string): string[] => server.connectionsOf(userId).flatMap((c) => [...c.rooms]);

  /** Bob, in `room`, recording the contents of its chat messages. */
  async function listener(room: string): Promise<string[]> {
    const bob = track(server.client('bob'));
    await bob.connect();
    await bob.join(room);
    const seen: string[] = [];
    bob.on('chat_message', (message) => {
      if (message.room_id === room) seen.push(message.content);
    });
    return seen;
  }

  it('join(); chat(); leave() unawaited, ten times: delivered each time, leave resolves, membership gone', async () => {
    const seen = await listener('pipe');
    const ann = track(server.client('ann'));
    await ann.connect();
    for (let i = 0; i < 10; i++) {
      const order: string[] = [];
      const note = <T>(name: string, promise: Promise<T>) => promise.then((value) => (order.push(name), value));
      const joined = note('join', ann.join('pipe'));
      const chatted = note('chat', ann.chat('pipe', `m${i}`));
      const left = note('leave', ann.leave('pipe'));
      expect(await joined).toMatchObject({ room_id: 'pipe', client_count: 2 });
      await chatted;
      expect(await left).toEqual({ room_id: 'pipe' });
      expect(order).toEqual(['join', 'chat', 'leave']);
      expect(ann.joinedRooms).toEqual([]);
      expect(serverRooms('ann')).toEqual([]);
      await until(() => seen.length === i + 1);
    }
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
  });

  it('the same thirty calls all in one burst: every one settles truthfully, in order', async () => {
    const seen = await listener('burst');
    const ann = track(server.client('ann'));
    await ann.connect();
    const settled: string[] = [];
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      calls.push(ann.join('burst').then(() => settled.push(`join${i}`)));
      calls.push(ann.chat('burst', `b${i}`).then(() => settled.push(`chat${i}`)));
      calls.push(ann.leave('burst').then(() => settled.push(`leave${i}`)));
    }
    await Promise.all(calls);
    expect(settled).toEqual(Array.from({ length: 10 }, (_, i) => [`join${i}`, `chat${i}`, `leave${i}`]).flat());
    expect(ann.joinedRooms).toEqual([]);
    expect(serverRooms('ann')).toEqual([]);
    await until(() => seen.length === 10);
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => `b${i}`));
  });

  it('a chat to a room not joined rejects with NOT_IN_ROOM, also one pipelined after a leave', async () => {
    const ann = track(server.client('ann'));
    await ann.connect();
    const error = await ann.chat('nowhere', 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RealtimeRequestError);
    expect(error).toMatchObject({ code: 'NOT_IN_ROOM', frameType: 'error' });

    const seen = await listener('gone');
    const joined = ann.join('gone');
    const before = ann.chat('gone', 'while in');
    const left = ann.leave('gone');
    const after = ann.chat('gone', 'after leaving');
    await expect(joined).resolves.toMatchObject({ room_id: 'gone' });
    await expect(before).resolves.toBeUndefined();
    await expect(left).resolves.toEqual({ room_id: 'gone' });
    await expect(after).rejects.toMatchObject({ code: 'NOT_IN_ROOM' });
    expect((await ann.request('echo', 'still fine')).data).toBe('still fine');
    expect(seen).toEqual(['while in']);
  });

  it('a leave that fails rejects, and the room is kept', async () => {
    const ann = track(server.client('ann'));
    await ann.connect();
    await ann.join('kept');
    await expect(ann.leave('')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(ann.joinedRooms).toEqual(['kept']);
  });

  it('a pipelined burst of chats resolves in order and reaches another member in order', async () => {
    const seen = await listener('order');
    const ann = track(server.client('ann'));
    await ann.connect();
    const own: ChatMessageData[] = [];
    ann.on('chat_message', (message) => own.push(message));
    const joined = ann.join('order');
    const resolved: number[] = [];
    const chats = Array.from({ length: 200 }, (_, i) => ann.chat('order', `o${i}`).then(() => resolved.push(i)));
    await joined;
    await Promise.all(chats);
    const expected = Array.from({ length: 200 }, (_, i) => `o${i}`);
    expect(resolved).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // Each chat resolved once its own copy had arrived.
    expect(own.map((message) => message.content)).toEqual(expected);
    await until(() => seen.length === 200);
    expect(seen).toEqual(expected);
  });

  it('join(); leave() unawaited around a lost connection: not in the room afterwards, not re-joined', async () => {
    const ann = track(server.client('ann', { reconnect: { baseDelay: 20, maxDelay: 20 } }));
    await ann.connect();
    await ann.join('stay');
    // The network goes away under the client before it knows: join and leave are written to a
    // dead socket. The join is lost (and says so); the leave is sent again on the next connection.
    const reopened = nextEvent(ann, 'open');
    server.dropUser('ann');
    const joined = ann.join('brief').catch((e: unknown) => e);
    const left = ann.leave('brief');
    const leftStay = ann.leave('stay');
    await reopened;
    await expect(left).resolves.toEqual({ room_id: 'brief' });
    await expect(leftStay).resolves.toEqual({ room_id: 'stay' });
    const joinOutcome = await joined;
    // Whether the join was answered before the drop or lost with it, the room was left after it.
    if (joinOutcome instanceof Error) expect(joinOutcome.name).toBe('ConnectionLostError');
    expect(ann.joinedRooms).toEqual([]);
    await until(() => server.connectionsOf('ann').length === 1);
    expect(serverRooms('ann')).toEqual([]);
  });

  it('join(); leave() unawaited while offline: sent in order after the reconnect, the room not restored', async () => {
    const ann = track(server.client('ann', { reconnect: { baseDelay: 50, maxDelay: 50 } }));
    await ann.connect();
    await ann.join('old');
    const reconnecting = nextEvent(ann, 'reconnecting');
    server.dropUser('ann');
    await reconnecting;
    const joined = ann.join('new');
    const left = ann.leave('new');
    const leftOld = ann.leave('old');
    await nextEvent(ann, 'open');
    await expect(joined).resolves.toMatchObject({ room_id: 'new' });
    await expect(left).resolves.toEqual({ room_id: 'new' });
    await expect(leftOld).resolves.toEqual({ room_id: 'old' });
    expect(ann.joinedRooms).toEqual([]);
    expect(serverRooms('ann')).toEqual([]);
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { register } from 'prom-client';
import { ConnectionManager, type RealtimeUser, RoomManager, SessionManager } from '../../lib/index.js';
import { memberOf, say } from '../support/chat.js';
import { range, ResumingClient, seqsOf, trackedResumer } from '../support/resuming-client.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';
import { useCleanup } from '../support/cleanup.js';
import { VipJoinPolicy } from './rooms-fixtures.js';

/** The VIP policy, whose own store fails for `boom-*` rooms (not a refusal: an error). */
class FlakyVipJoinPolicy extends VipJoinPolicy {
  override canJoin(user: RealtimeUser | undefined, roomId: string): boolean {
    if (roomId.startsWith('boom-')) throw new Error('membership store unreachable');
    return super.canJoin(user, roomId);
  }
}

const ROOM_SETTINGS = (roomId: string) =>
  roomId.startsWith('short-') ? { historySize: 5 } : roomId.startsWith('brief-') ? { historyTtl: 200 } : {};

describe('resume after a reconnect, one node (e2e)', () => {
  let t: TestApp;
  // Every client is registered as it is made, so that a failed assertion leaves nothing connected
  // for the next test (whose afterEach would otherwise wait for a connection count of 0 forever).
  const cleanup = useCleanup();

  const tokenOf = (userId: string, roles: string[] = []) => hsToken({ user_id: userId, roles });

  const resumer = (userId: string, roles: string[] = []) => trackedResumer(t.url, tokenOf(userId, roles), cleanup);

  async function talker(userId: string, roomId: string): Promise<TestClient> {
    return cleanup.track(await memberOf(t.url, tokenOf(userId), roomId));
  }

  const away = (client: ResumingClient) => client.client.close();

  beforeAll(async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET }, rateLimit: false, rooms: ROOM_SETTINGS }, {}, undefined, {
      joinPolicy: FlakyVipJoinPolicy,
    });
  });
  afterEach(async () => {
    await cleanup.run();
    await until(() => t.app.get(ConnectionManager).count === 0);
  });
  afterAll(() => t.close());

  it('tells the position at the join, replays exactly the 20 messages sent while away, in order, then goes on live', async () => {
    const ann = await resumer('ann');
    expect((await ann.join('r-main')).data).toEqual({
      room_id: 'r-main',
      client_count: 1,
      seq: 0,
      epoch: expect.any(String),
    });
    const bob = await talker('bob', 'r-main');
    await say(bob, 'r-main', ['before']);
    await until(() => ann.roomFrames('r-main').length === 1);
    await away(ann);
    const missed = range(0, 19).map((i) => `missed ${i}`);
    await say(bob, 'r-main', missed);

    const resumed = await ann.reconnect(t.url);
    expect(resumed).toMatchObject({ type: 'resumed', data: { rooms: ['r-main'] } });
    await until(() => ann.roomFrames('r-main').length === 21);
    // The replay follows `resumed` at once, before anything else in the room.
    const afterResume = ann.client.frames.slice(ann.client.frames.indexOf(resumed) + 1);
    expect(afterResume.slice(0, 20).map((f) => f.data.content)).toEqual(missed);
    await say(bob, 'r-main', ['live']);
    await until(() => ann.roomFrames('r-main').length === 22);
    const frames = ann.roomFrames('r-main');
    expect(seqsOf(frames)).toEqual(range(1, 22));
    expect(frames.map((f) => f.data.content)).toEqual(['before', ...missed, 'live']);
    expect(new Set(frames.map((f) => f.epoch)).size).toBe(1);
    expect(ann.failures).toEqual([]);
  });

  it('replays nothing and fails nothing when nothing was missed, and keeps the membership', async () => {
    const ann = await resumer('ann');
    await ann.join('r-quiet');
    await away(ann);
    expect((await ann.reconnect(t.url)).data).toEqual({ rooms: ['r-quiet'] });
    expect(t.app.get(RoomManager).clientCount('r-quiet')).toBe(1);
    const bob = await talker('bob', 'r-quiet');
    await say(bob, 'r-quiet', ['hello']);
    await until(() => ann.roomFrames('r-quiet').length === 1);
    expect(seqsOf(ann.roomFrames('r-quiet'))).toEqual([1]);
  });

  it('answers resume_failed when the history no longer reaches back (size), and still restores the room', async () => {
    const ann = await resumer('ann');
    await ann.join('short-room');
    const bob = await talker('bob', 'short-room');
    await away(ann);
    await say(
      bob,
      'short-room',
      range(1, 8).map((i) => `m${i}`),
    );
    const resumed = await ann.reconnect(t.url);
    expect(resumed.data).toEqual({ rooms: ['short-room'] });
    const failed = await ann.client.next('resume_failed');
    expect(failed.id).toBe(resumed.id); // a frame the resume caused, for the sender only
    expect(failed.data).toEqual({
      room_id: 'short-room',
      reason: 'history_expired',
      seq: 8,
      epoch: ann.positions.get('short-room')!.epoch,
    });
    await say(bob, 'short-room', ['after']);
    await until(() => ann.roomFrames('short-room').length === 1);
    expect(ann.roomFrames('short-room')[0]).toMatchObject({ seq: 9, data: { content: 'after' } });
  });

  it('answers resume_failed when the missed messages are older than the history ttl', async () => {
    const ann = await resumer('ann');
    await ann.join('brief-room');
    const bob = await talker('bob', 'brief-room');
    await away(ann);
    await say(bob, 'brief-room', ['old 1', 'old 2']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await ann.reconnect(t.url);
    expect((await ann.client.next('resume_failed')).data).toMatchObject({
      room_id: 'brief-room',
      reason: 'history_expired',
      seq: 2,
    });
    expect(ann.roomFrames('brief-room')).toEqual([]);
  });

  it('answers resume_failed epoch_changed for a position of another epoch or from the future', async () => {
    const ann = await resumer('ann');
    await ann.join('r-epoch');
    await ann.join('r-future');
    await away(ann);
    ann.positions.set('r-epoch', { seq: 0, epoch: 'not-this-one' });
    ann.positions.set('r-future', { seq: 5, epoch: ann.positions.get('r-future')!.epoch });
    expect((await ann.reconnect(t.url)).data.rooms).toEqual(['r-epoch', 'r-future']);
    const failures = [await ann.client.next('resume_failed'), await ann.client.next('resume_failed')];
    expect(failures.map((f) => [f.data.room_id, f.data.reason, f.data.seq])).toEqual([
      ['r-epoch', 'epoch_changed', 0],
      ['r-future', 'epoch_changed', 0],
    ]);
  });

  it("refuses another user's session, and joins nothing for it", async () => {
    const ann = await resumer('ann');
    await ann.join('r-private');
    await away(ann);
    const eve = await resumer('eve');
    const answer = await eve.client.request({
      type: 'resume',
      id: 'steal',
      data: { session_id: ann.sessionId, rooms: { 'r-private': ann.positions.get('r-private') } },
    });
    expect(answer).toMatchObject({ type: 'error', id: 'steal', data: { code: 'FORBIDDEN' } });
    expect(t.app.get(RoomManager).clientCount('r-private')).toBe(0);
  });

  it('re-checks the join policy: a room the user may no longer join is left, the others resume', async () => {
    const ann = await resumer('ann', ['vip']);
    await ann.join('vip-lounge');
    await ann.join('r-open');
    await away(ann);
    const resumed = await ann.reconnect(t.url, tokenOf('ann'));
    expect(resumed.data).toEqual({ rooms: ['r-open'] });
    const left = ann.client.frames.find((f) => f.type === 'room_left');
    expect(left?.data).toEqual({ room_id: 'vip-lounge', reason: 'forbidden' });
    // Sent only to the sender because of its resume: it carries the resume's id (PROTOCOL.md).
    expect(left?.id).toBe(resumed.id);
    expect(ann.client.frames.indexOf(left!)).toBeLessThan(ann.client.frames.indexOf(resumed));
    expect(t.app.get(RoomManager).clientCount('vip-lounge')).toBe(0);
  });

  it('restores the rooms this node still knows of the session, from the current position', async () => {
    const ann = await resumer('ann');
    await ann.join('r-remembered');
    await away(ann);
    await until(() => t.app.get(SessionManager).get(ann.sessionId)?.connection === undefined);
    ann.positions.clear();
    expect((await ann.reconnect(t.url)).data).toEqual({ rooms: ['r-remembered'] });
    expect((await ann.client.next('room_joined')).data).toEqual({
      room_id: 'r-remembered',
      client_count: 1,
      seq: 0,
      epoch: expect.any(String),
    });
  });

  it('answers BAD_REQUEST for a malformed resume and AUTH_REQUIRED before authentication', async () => {
    const ann = await resumer('ann');
    const bad = [
      {},
      { session_id: 'x', rooms: [] },
      { session_id: 'x', rooms: { 'r-1': { seq: -1, epoch: 'e' } } },
      { session_id: 'x', rooms: { 'r-1': { seq: 1.5, epoch: 'e' } } },
      { session_id: 'x', rooms: { 'r-1': { seq: 1 } } },
      { session_id: 'x', rooms: { 'bad room id!': { seq: 1, epoch: 'e' } } },
      { session_id: 'x', rooms: { 'r-1': { seq: 0, epoch: '' } } },
    ];
    for (const [i, data] of bad.entries()) {
      expect(await ann.client.request({ type: 'resume', id: `b${i}`, data })).toMatchObject({
        type: 'error',
        data: { code: 'BAD_REQUEST' },
      });
    }
    const anonymous = cleanup.track(await TestClient.connect(t.url));
    expect(await anonymous.request({ type: 'resume', id: 'a', data: { session_id: 'x', rooms: {} } })).toMatchObject({
      type: 'error',
      data: { code: 'AUTH_REQUIRED' },
    });
  });

  it('counts resumed rooms by result, and replayed messages, in Prometheus', async () => {
    // Counted as differences, so that the test stands alone (the counters are the node's).
    const counts = async () => {
      const lines = (await register.metrics()).split('\n');
      const value = (name: string) =>
        Number(
          lines
            .find((l) => l.startsWith(`${name} `))
            ?.split(' ')
            .pop() ?? 0,
        );
      return {
        replayed: value('websocket_resumed_rooms_total{result="replayed"}'),
        epochChanged: value('websocket_resumed_rooms_total{result="epoch_changed"}'),
        forbidden: value('websocket_resumed_rooms_total{result="forbidden"}'),
        messages: value('websocket_replayed_messages_total'),
      };
    };
    const before = await counts();
    const ann = await resumer('ann', ['vip']);
    await ann.join('r-counted');
    await ann.join('r-counted-epoch');
    await ann.join('vip-counted');
    const bob = await talker('bob', 'r-counted');
    await away(ann);
    await say(bob, 'r-counted', ['c1', 'c2', 'c3']);
    ann.positions.set('r-counted-epoch', { seq: 0, epoch: 'not-this-one' });
    const resumed = await ann.reconnect(t.url, tokenOf('ann')); // no longer vip: refused there
    expect(resumed.type).toBe('resumed');
    await until(() => ann.roomFrames('r-counted').length === 3);
    expect(await counts()).toEqual({
      replayed: before.replayed + 1,
      epochChanged: before.epochChanged + 1,
      forbidden: before.forbidden + 1,
      messages: before.messages + 3,
    });
  });

  it('resumes a room the connection is already in without replaying or doubling anything', async () => {
    const ann = await resumer('ann');
    await ann.join('r-twice');
    const bob = await talker('bob', 'r-twice');
    await say(bob, 'r-twice', ['one', 'two']);
    await until(() => ann.roomFrames('r-twice').length === 2);
    const answer = await ann.client.request({
      type: 'resume',
      id: 'again',
      data: { session_id: ann.sessionId, rooms: { 'r-twice': { seq: 0, epoch: ann.positions.get('r-twice')!.epoch } } },
    });
    expect(answer.data).toEqual({ rooms: ['r-twice'] });
    await say(bob, 'r-twice', ['three']);
    await until(() => ann.roomFrames('r-twice').length >= 3);
    expect(ann.roomFrames('r-twice').map((f) => f.data.content)).toEqual(['one', 'two', 'three']);
  });

  it("leaves no room held back when the app's join policy fails for one of the rooms", async () => {
    const ann = await resumer('ann');
    await ann.join('r-fine');
    await away(ann);
    const bob = await talker('bob', 'r-fine');
    await say(bob, 'r-fine', ['missed']);
    ann.positions.set('boom-room', { seq: 0, epoch: 'whatever' });
    expect((await ann.reconnect(t.url)).data).toEqual({ rooms: ['r-fine'] });
    expect(ann.client.frames.find((f) => f.type === 'room_left')?.data).toEqual({
      room_id: 'boom-room',
      reason: 'error',
    });
    await say(bob, 'r-fine', ['live']);
    await until(() => ann.roomFrames('r-fine').length === 2);
    expect(ann.roomFrames('r-fine').map((f) => f.data.content)).toEqual(['missed', 'live']);
    const room = (t.app.get(RoomManager) as unknown as { rooms: Map<string, { gates?: Map<unknown, unknown> }> }).rooms;
    expect(room.get('r-fine')?.gates).toBeUndefined();
  });

  it('leaves no gate, room or history behind for rooms nobody is in', async () => {
    const rooms = t.app.get(RoomManager) as unknown as { rooms: Map<string, { gates?: Map<unknown, unknown> }> };
    await until(() => t.app.get(ConnectionManager).count === 0);
    expect(rooms.rooms.size).toBe(0);
    // Sequences (with their history) outlive membership, bounded by the idle purge.
    expect(t.app.get(RoomManager).purgeIdleSequences(Date.now() + 24 * 3600_000)).toBeGreaterThan(0);
    expect(t.app.get(RoomManager).sequencer.size).toBe(0);
  });
});

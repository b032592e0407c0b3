import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { register } from 'prom-client';
import { ConnectionManager, RoomManager } from '../../lib/index.js';
import type { RoomSettings } from '../../lib/options/room-settings.js';
import { memberOf, say } from '../support/chat.js';
import { range, trackedResumer } from '../support/resuming-client.js';
import { useCleanup } from '../support/cleanup.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';

/** The node keeps 48 KiB of history in all; `capped-*` rooms 8 KiB each; `kept-*` rooms keep it without members. */
const NODE_BUDGET = 48 * 1024;
const ROOM_SETTINGS = (roomId: string): RoomSettings =>
  roomId.startsWith('capped-')
    ? { historyMaxBytes: 8 * 1024 }
    : roomId.startsWith('kept-')
      ? { historyWithoutMembers: true }
      : {};

/** A chat content of about `kib` KiB whose start tells which message it is. */
const big = (label: string, kib: number) => `${label}:${'x'.repeat(kib * 1024)}`;

async function metric(line: string): Promise<number> {
  const found = (await register.metrics()).split('\n').find((l) => l.startsWith(`${line} `));
  return Number(found?.split(' ').pop() ?? 0);
}

describe('history memory bounds, one node (e2e)', () => {
  let t: TestApp;
  // Every client is registered as it is made: a failed assertion leaves nothing connected.
  const cleanup = useCleanup();
  const tokenOf = (userId: string) => hsToken({ user_id: userId });
  const rooms = () => t.app.get(RoomManager);

  const resumer = (userId: string) => trackedResumer(t.url, tokenOf(userId), cleanup);

  const talker = async (userId: string, roomId: string) =>
    cleanup.track(await memberOf(t.url, tokenOf(userId), roomId));

  beforeAll(async () => {
    t = await createTestApp({
      auth: { secret: TEST_SECRET },
      rateLimit: false,
      rooms: ROOM_SETTINGS,
      // One replay at a time on the node: resumes queue for it.
      history: { maxBytes: NODE_BUDGET, maxConcurrentReplays: 1 },
      resume: { maxRooms: 3 },
    });
  });
  afterEach(async () => {
    await until(() => t.app.get(ConnectionManager).count === 0);
    // Each test starts with no history on the node.
    rooms().purgeIdleSequences(Date.now() + 24 * 3600_000);
  });
  afterAll(() => t.close());

  it('evicts the least recently written room past the node budget: its resume is history_expired, a busy room replays', async () => {
    const evictedBefore = await metric('websocket_history_evicted_total{reason="node_bytes"}');
    const ann = await resumer('ann');
    await ann.join('r-old');
    await ann.join('r-busy');
    const bob = await talker('bob', 'r-old');
    await say(bob, 'r-old', ['old 1', 'old 2', 'old 3']);
    await until(() => ann.roomFrames('r-old').length === 3);
    await ann.client.close();
    await say(bob, 'r-old', ['old 4']);
    // r-busy now takes more than the whole budget: r-old, written longer ago, gives way first.
    const carol = await talker('carol', 'r-busy');
    const busy = range(1, 12).map((i) => big(`busy ${i}`, 6));
    await say(carol, 'r-busy', busy);
    expect(t.app.get(RoomManager).sequencer.budget.bytes).toBeLessThanOrEqual(NODE_BUDGET);
    expect(await metric('websocket_history_bytes')).toBeLessThanOrEqual(NODE_BUDGET);
    expect(await metric('websocket_history_evicted_total{reason="node_bytes"}')).toBeGreaterThan(evictedBefore);

    // ann missed old 4 (evicted) and all 12 busy messages (only the latest fit): told, not given a gap.
    const resumed = await ann.reconnect(t.url);
    expect(resumed.data).toEqual({ rooms: ['r-old', 'r-busy'] });
    const failed = [await ann.client.next('resume_failed'), await ann.client.next('resume_failed')];
    expect(failed.map((f) => f.data)).toEqual([
      { room_id: 'r-old', reason: 'history_expired', seq: 4, epoch: ann.positions.get('r-old')!.epoch },
      { room_id: 'r-busy', reason: 'history_expired', seq: 12, epoch: ann.positions.get('r-busy')!.epoch },
    ]);
    expect(ann.roomFrames('r-old').map((f) => f.data.content)).toEqual(['old 1', 'old 2', 'old 3']);
    expect(ann.roomFrames('r-busy')).toEqual([]);

    // What fits in the budget replays: the two latest busy messages.
    await ann.client.close();
    ann.positions.set('r-busy', { seq: 12, epoch: ann.positions.get('r-busy')!.epoch });
    await say(carol, 'r-busy', [big('busy 13', 6), big('busy 14', 6)]);
    await ann.reconnect(t.url);
    await until(() => ann.roomFrames('r-busy').length === 2);
    expect(ann.roomFrames('r-busy').map((f) => [f.seq, (f.data.content as string).split(':')[0]])).toEqual([
      [13, 'busy 13'],
      [14, 'busy 14'],
    ]);
  });

  it("caps each room's history in bytes (historyMaxBytes): past it resume_failed, within it a replay", async () => {
    const ann = await resumer('ann');
    await ann.join('capped-a');
    const bob = await talker('bob', 'capped-a');
    await ann.client.close();
    // Three frames of over 3 KiB: only two fit in 8 KiB.
    await say(bob, 'capped-a', [big('c1', 3), big('c2', 3), big('c3', 3)]);
    await ann.reconnect(t.url);
    expect((await ann.client.next('resume_failed')).data).toMatchObject({
      room_id: 'capped-a',
      reason: 'history_expired',
      seq: 3,
    });
    await ann.client.close();
    await say(bob, 'capped-a', [big('c4', 3), big('c5', 3)]);
    await ann.reconnect(t.url);
    await until(() => ann.roomFrames('capped-a').length === 2);
    expect(ann.roomFrames('capped-a').map((f) => f.seq)).toEqual([4, 5]);
    expect(ann.failures.filter((f) => f.data.room_id === 'capped-a')).toHaveLength(1);
  });

  it('keeps no history for a room nobody has joined (unless the room says so), and numbers its broadcasts all the same', async () => {
    const manager = rooms();
    for (let i = 1; i <= 3; i++) await manager.broadcast('r-nobody', 'chat_message', { content: big(`p${i}`, 4) });
    expect(manager.sequencer.peek('r-nobody')?.history).toBeUndefined();
    expect(manager.sequencer.budget.bytes).toBe(0);
    // The numbering goes on: a member joining now is at seq 3, and the next broadcast is 4.
    const ann = await resumer('ann');
    expect((await ann.join('r-nobody')).data).toMatchObject({ seq: 3 });
    expect(await manager.broadcast('r-nobody', 'chat_message', { content: 'p4' })).toMatchObject({ seq: 4 });

    for (let i = 1; i <= 3; i++) await manager.broadcast('kept-x', 'chat_message', { content: `k${i}` });
    expect(manager.sequencer.peek('kept-x')?.history?.count).toBe(3);
  });

  it("keeps a room's history after its last member left, for as long as a session may come back to resume", async () => {
    const manager = rooms();
    const ann = await resumer('ann');
    await ann.join('r-alone');
    await ann.client.close();
    await until(() => !manager.has('r-alone'));
    await manager.broadcast('r-alone', 'chat_message', { content: 'while away 1' });
    await manager.broadcast('r-alone', 'chat_message', { content: 'while away 2' });
    await ann.reconnect(t.url);
    await until(() => ann.roomFrames('r-alone').length === 2);
    expect(ann.roomFrames('r-alone').map((f) => f.data.content)).toEqual(['while away 1', 'while away 2']);
    expect(ann.failures).toEqual([]);
    await ann.client.close();
    await until(() => !manager.has('r-alone'));
    // max(sessionTtl, 60 s) after the last member left, nobody can resume it: the history goes.
    expect(manager.sequencer.budget.bytes).toBeGreaterThan(0);
    manager.purgeIdleSequences(Date.now() + 121_000);
    expect(manager.sequencer.peek('r-alone')?.history).toBeUndefined();
    expect(manager.sequencer.budget.bytes).toBe(0);
  });

  it('replays every resume in full when the node runs one replay at a time (the others wait their turn)', async () => {
    const clients = await Promise.all(['ann', 'cid', 'dee'].map((user) => resumer(user)));
    for (const client of clients) {
      await client.join('r-queue-1');
      await client.join('r-queue-2');
    }
    const bob = await talker('bob', 'r-queue-1');
    const eve = await talker('eve', 'r-queue-2');
    await Promise.all(clients.map((client) => client.client.close()));
    await say(
      bob,
      'r-queue-1',
      range(1, 10).map((i) => `q1 ${i}`),
    );
    await say(
      eve,
      'r-queue-2',
      range(1, 10).map((i) => `q2 ${i}`),
    );
    // The node's only replay slot is taken: the three resumes are answered, and their replays wait.
    const release = await rooms().replays.acquire();
    const resumed = await Promise.all(clients.map((client) => client.reconnect(t.url)));
    expect(resumed.map((r) => r.type)).toEqual(['resumed', 'resumed', 'resumed']);
    await until(() => rooms().replays.queued === 3);
    expect(clients.map((client) => client.roomFrames('r-queue-1').length)).toEqual([0, 0, 0]);
    release();
    for (const client of clients) {
      await until(() => client.roomFrames('r-queue-1').length === 10 && client.roomFrames('r-queue-2').length === 10);
      expect(client.roomFrames('r-queue-1').map((f) => f.seq)).toEqual(range(1, 10));
      expect(client.roomFrames('r-queue-2').map((f) => f.seq)).toEqual(range(1, 10));
      expect(client.failures).toEqual([]);
    }
    expect(rooms().replays.active).toBe(0);
    expect(rooms().replays.queued).toBe(0);
  });

  it('refuses a resume naming more rooms than resume.maxRooms with BAD_REQUEST, and joins none of them', async () => {
    const ann = await resumer('ann');
    const reply = await ann.client.request({
      type: 'resume',
      id: 'r1',
      data: {
        session_id: ann.sessionId,
        rooms: Object.fromEntries(range(1, 4).map((i) => [`r-many-${i}`, { seq: 0, epoch: 'e' }])),
      },
    });
    expect(reply).toMatchObject({
      type: 'error',
      id: 'r1',
      data: { code: 'BAD_REQUEST', message: expect.stringContaining('at most 3 rooms') },
    });
    expect(range(1, 4).filter((i) => rooms().has(`r-many-${i}`))).toEqual([]);
    // Three is within the limit.
    const ok = await ann.client.request(
      {
        type: 'resume',
        id: 'r2',
        data: {
          session_id: ann.sessionId,
          rooms: Object.fromEntries(range(1, 3).map((i) => [`r-many-${i}`, { seq: 0, epoch: 'e' }])),
        },
      },
      3000,
      (f) => f.type === 'resumed' || f.type === 'error',
    );
    expect(ok).toMatchObject({ type: 'resumed', data: { rooms: ['r-many-1', 'r-many-2', 'r-many-3'] } });
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { ConnectionManager, RealtimeHealth, RoomManager } from '../../lib/index.js';
import { RedisClusterAdapter } from '../../lib/redis/index.js';
import { REDIS_BACKENDS, type RedisBackend } from '../support/redis-backends.js';
import { TestRedis } from '../support/redis-server.js';
import { crashClusterNode, memberOf, say, startEmitter } from '../support/chat.js';
import { range, ResumingClient, seqsOf, trackedResumer } from '../support/resuming-client.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';
import { useCleanup } from '../support/cleanup.js';

/** A node's Redis connections and its rooms' read-backs (RoomFrameOrder), for a failure message. */
function describeRoomOrder(t: TestApp): string {
  const cluster = (t.app.get(RoomManager) as unknown as { cluster: Record<string, unknown> }).cluster;
  const status = (name: string) => (cluster[name] as Redis | undefined)?.status;
  const order = cluster.order as { repairs: Map<string, { state: string; held: unknown[]; retryDelay?: number }> };
  const repairs = [...order.repairs].map(
    ([roomId, r]) => `${roomId}: ${r.state}, ${r.held.length} held, retry ${r.retryDelay ?? '-'} ms`,
  );
  return `pub ${status('pub')}, sub ${status('sub')}, read-backs [${repairs.join('; ')}]`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(REDIS_BACKENDS)('resume across a cluster on %s (e2e)', (backendName, backendFactory) => {
  let backend: RedisBackend;
  let a: TestApp;
  let b: TestApp;
  const extraApps: TestApp[] = [];
  const sockets: TestClient[] = [];
  const prefix = `r${process.pid}`;
  const cleanup = useCleanup();

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

  const resumer = (app: TestApp, userId: string) => trackedResumer(app.url, tokenOf(userId), cleanup);

  async function talker(app: TestApp, userId: string, roomId: string): Promise<TestClient> {
    const client = await memberOf(app.url, tokenOf(userId), roomId);
    sockets.push(client);
    return client;
  }

  const emitter = async () => {
    const started = await startEmitter(adapter());
    cleanup.defer(started.close);
    return started;
  };
  /** A node of the test's own (a and b are the file's), closed after the test whatever happens. */
  const extraNode = async (nodeId: string) => cleanup.track(await node(nodeId));

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
    const doomed = await extraNode('node-doomed');
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

  // The replay gate's duplicate filter is reached only on a cluster (on one node the replay is
  // read in the same tick as the gate opens): frames published between the gate's start and the
  // history read are both replayed and received live. Three publishers keep that window busy on
  // every one of the resumes, so that the frame at the replay's very end (the `<=` of the filter)
  // is received live too, and must not be written twice.
  it('loses and doubles nothing when messages keep arriving during the replay', async () => {
    const publishers = await Promise.all([emitter(), emitter(), emitter()]);
    const ann = await resumer(a, 'ann');
    await ann.join('busy-room');
    let sent = 0;
    let sending = true;
    cleanup.defer(() => (sending = false));
    const pumps = publishers.map(async ({ emitter: jobs }) => {
      while (sending) await jobs.toRoom('busy-room', 'tick', { n: ++sent });
    });
    // Several reconnects in a row, alternating nodes, while the room keeps ticking.
    for (let round = 0; round < 12; round++) {
      const before = sent;
      await until(() => sent >= before + 20);
      await ann.client.close();
      const answer = await ann.reconnect(round % 2 === 0 ? b.url : a.url);
      expect(answer.type).toBe('resumed');
    }
    sending = false;
    await Promise.all(pumps);
    // A last frame after all the others: once it is in, anything doubled is in too.
    await publishers[0].emitter.toRoom('busy-room', 'tick', { n: 'end' });
    await until(() => ann.roomFrames('busy-room').some((f) => f.data.n === 'end'), 5000);
    const frames = ann.roomFrames('busy-room');
    expect(ann.failures).toEqual([]);
    expect(seqsOf(frames)).toEqual(range(1, sent + 1));
    expect(frames.at(-1)?.data.n).toBe('end');
    const ticks = frames.slice(0, -1).map((f) => f.data.n as number);
    expect(ticks.sort((x, y) => x - y)).toEqual(range(1, sent));
  }, 30_000);

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
    let first: TestApp = await extraNode('roll-1');
    let second: TestApp = await extraNode('roll-2');
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
    first = await extraNode('roll-1b');
    await sleep(150);
    await restart(second, first);
    second = await extraNode('roll-2b');
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
  const cleanup = useCleanup();

  /**
   * Every message, on every side, is accounted for: the sender's node (its own copies and another
   * member's) gets all of them once and in order; the other node gets everything sent before the
   * outage, nothing of the outage's local epoch, and after the restart a gap-free run that reaches
   * the last message. Two senders publish back to back (each sends its next message the moment it
   * has its copy of the last) from before the stop until well after Redis is back.
   */
  it('accounts for every message on both nodes through a Redis restart under back-to-back traffic', async () => {
    const redis = cleanup.track(await TestRedis.start());
    const make = async (nodeId: string) =>
      cleanup.track(
        await createTestApp({
          nodeId,
          rateLimit: false,
          cluster: new RedisClusterAdapter({
            url: redis.url,
            prefix: `s${process.pid}`,
            heartbeatInterval: 200,
            nodeTimeout: 1000,
          }),
        }),
      );
    const a = await make('sa');
    const b = await make('sb');
    const senders = [cleanup.track(await TestClient.connect(a.url)), cleanup.track(await TestClient.connect(a.url))];
    const local = cleanup.track(await TestClient.connect(a.url));
    const remote = cleanup.track(await TestClient.connect(b.url));
    for (const c of [...senders, local, remote]) {
      await c.request({ type: 'join_room', id: 'j', data: { room_id: 'steady' } });
    }
    // Resolves as soon as the sender has its copy (no polling: the next message goes at once).
    const copyOf = (sender: TestClient, content: string) =>
      new Promise<void>((resolve, reject) => {
        const text = JSON.stringify(content);
        const timer = setTimeout(() => reject(new Error(`no copy of ${content}`)), 10_000);
        const onMessage = (data: Buffer) => {
          if (!data.toString().includes(text)) return;
          clearTimeout(timer);
          sender.socket.off('message', onMessage);
          resolve();
        };
        sender.socket.on('message', onMessage);
      });
    const chats = (client: TestClient) => client.frames.filter((f) => f.type === 'chat_message');
    const sent: string[] = [];
    let phase = 'before';
    let pumping = true;
    let paused: Promise<void> | undefined;
    cleanup.defer(() => (pumping = false));
    // Each sender keeps one message at the server and sends the next as soon as it has its copy.
    const pump = async (sender: TestClient, tag: string) => {
      for (let n = 1; pumping; n++) {
        await paused;
        const content = `${tag}:${phase}:${n}`;
        sent.push(content);
        const copy = copyOf(sender, content);
        sender.send({ type: 'chat', data: { room_id: 'steady', content } });
        await copy;
      }
    };
    const pumps = senders.map((sender, i) => pump(sender, `s${i}`));
    const upOn = (t: TestApp) => t.app.get(RealtimeHealth).check().redis === 'up';

    // Everything sent before the outage is delivered everywhere before Redis stops.
    await until(() => sent.length >= 60);
    let resume!: () => void;
    paused = new Promise((resolve) => (resume = resolve));
    await until(() => chats(remote).length === sent.length, 10_000);
    phase = 'outage';
    await redis.stop();
    resume();
    await until(() => !upOn(a) && !upOn(b));
    const outageFrom = sent.length;
    await until(() => sent.length >= outageFrom + 40);
    // Redis comes back empty (a new epoch). Node A's publisher is let in first and its
    // subscriber kept out meanwhile (its connections killed until then), the order in which a
    // lost own frame was once seen; the senders start again the moment the subscriber is back.
    let resumeAfter!: () => void;
    paused = new Promise((resolve) => (resumeAfter = resolve));
    await until(() => chats(local).length === sent.length, 10_000);
    phase = 'after';
    await redis.spawn();
    const admin = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
    cleanup.defer(() => admin.disconnect());
    const nodeA = (a.app.get(RoomManager) as unknown as { cluster: { pub: Redis; sub: Redis } }).cluster;
    await until(async () => {
      await admin.client('KILL', 'TYPE', 'pubsub');
      return nodeA.pub.status === 'ready' && nodeA.sub.status !== 'ready';
    }, 10_000);
    nodeA.sub.once('ready', resumeAfter);
    await until(() => upOn(a) && upOn(b), 10_000);
    // Cross-node delivery is back when B hears a message sent after both nodes were up again.
    const upAt = sent.length;
    await until(() => chats(remote).some((f) => sent.indexOf(f.data.content as string) >= upAt), 10_000).catch(
      (error: Error) => {
        // Seen once in CI: say where B's delivery of the room stands, so that a failure tells why.
        throw new Error(`${error.message}; node B: ${describeRoomOrder(b)}`);
      },
    );
    const backAt = sent.length;
    await until(() => sent.length >= backAt + 40);
    pumping = false;
    await Promise.all(pumps);

    // The sender's node: every message once, in order of sending, at the other member and at
    // both senders; each sender's own in its order of sending.
    await until(() => chats(local).length >= sent.length, 10_000);
    const atLocal = chats(local).map((f) => f.data.content as string);
    expect([...atLocal].sort()).toEqual([...sent].sort());
    for (const [i, sender] of senders.entries()) {
      expect(chats(sender).map((f) => f.data.content)).toEqual(atLocal);
      expect(atLocal.filter((c) => c.startsWith(`s${i}:`))).toEqual(sent.filter((c) => c.startsWith(`s${i}:`)));
    }
    // Within each epoch the sequence has no gap; there were three: before, outage (local), after.
    const byEpoch = new Map<string, number[]>();
    for (const f of chats(local)) {
      byEpoch.set(f.epoch as string, [...(byEpoch.get(f.epoch as string) ?? []), f.seq as number]);
    }
    for (const seqs of byEpoch.values()) expect(seqs).toEqual(range(seqs[0], seqs[0] + seqs.length - 1));
    expect(byEpoch.size).toBeGreaterThanOrEqual(3);

    // The other node: the same order as the sender's node, nothing twice, nothing of the
    // outage's local epoch; everything before the outage began; and from its first message
    // after the restart, a gap-free run to the very last message.
    await until(() => chats(remote).at(-1)?.data.content === atLocal.at(-1), 10_000);
    const atRemote = chats(remote);
    const remoteContents = atRemote.map((f) => f.data.content as string);
    expect(remoteContents).toEqual(atLocal.filter((c) => remoteContents.includes(c)));
    expect(new Set(remoteContents).size).toBe(remoteContents.length);
    const firstEpoch = chats(local)[0].epoch;
    const lastEpoch = chats(local).at(-1)!.epoch;
    expect(atRemote.every((f) => f.epoch === firstEpoch || f.epoch === lastEpoch)).toBe(true);
    const beforeOutage = atLocal.filter((c) => c.includes(':before:'));
    expect(remoteContents.slice(0, beforeOutage.length)).toEqual(beforeOutage);
    const tail = atRemote.filter((f) => f.epoch === lastEpoch);
    const tailStart = atLocal.indexOf(tail[0].data.content as string);
    expect(tail.map((f) => f.data.content)).toEqual(atLocal.slice(tailStart));
    expect(seqsOf(tail)).toEqual(range(tail[0].seq as number, (tail[0].seq as number) + tail.length - 1));
  }, 45_000);
});

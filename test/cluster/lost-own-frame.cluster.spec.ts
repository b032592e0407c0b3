import { describe, expect, it } from '@jest/globals';
import { RealtimeHealth } from '../../lib/index.js';
import { RedisClusterAdapter } from '../../lib/redis/index.js';
import { FaultProxy } from '../soak/fault-proxy.js';
import { useCleanup } from '../support/cleanup.js';
import { TestRedis } from '../support/redis-server.js';
import { range } from '../support/resuming-client.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

const ROOM = 'lost-echo';

/**
 * A broadcast that Redis sequenced (and published to every other node) while the echo to the
 * publishing node was lost with its subscriber connection. A Redis restart never produces this
 * (ioredis re-subscribes before the publisher is back, so no publish is sequenced with its echo
 * lost); a fault proxy between node A and Redis does: it holds what Redis sends A's subscriber,
 * lets the broadcast run, then cuts that connection and keeps it from coming back until A's
 * members have the broadcast — from A's own record of it, the only place it can come from then.
 */
describe('an own broadcast whose echo was lost with the subscriber connection (cluster e2e)', () => {
  const cleanup = useCleanup();

  it('is delivered on the publishing node exactly once, in seq order, with everything before and after it', async () => {
    const redis = cleanup.track(await TestRedis.start());
    const proxy = cleanup.track(await FaultProxy.start(redis.port));
    const node = async (nodeId: string, url: string) =>
      cleanup.track(
        await createTestApp({
          nodeId,
          rateLimit: false,
          cluster: new RedisClusterAdapter({ url, prefix: `lost${process.pid}` }),
        }),
      );
    // A reaches Redis through the proxy (command and subscriber connections alike); B directly.
    const a = await node('lost-a', proxy.url);
    const b = await node('lost-b', redis.url);
    const member = async (app: TestApp) => {
      const client = cleanup.track(await TestClient.connect(app.url));
      await client.request({ type: 'join_room', id: 'j', data: { room_id: ROOM } });
      return client;
    };
    const sender = await member(a);
    const local = await member(a);
    const remoteSender = await member(b);
    const remote = await member(b);
    const everyone = [sender, local, remoteSender, remote];
    const chats = (client: TestClient) => client.frames.filter((f) => f.type === 'chat_message');
    const contents = (client: TestClient) => chats(client).map((f) => f.data.content as string);
    const has = (client: TestClient, content: string) => contents(client).includes(content);
    const say = (from: TestClient, content: string) => from.send({ type: 'chat', data: { room_id: ROOM, content } });
    const redisOf = (app: TestApp) => app.app.get(RealtimeHealth).check().redis;

    // Before: from both nodes, everywhere (A's subscriber has delivered frames of the room).
    const before = ['before 1', 'before 2', 'before 3'];
    say(sender, before[0]);
    await until(() => everyone.every((c) => has(c, before[0])));
    say(remoteSender, before[1]);
    await until(() => everyone.every((c) => has(c, before[1])));
    say(sender, before[2]);
    await until(() => everyone.every((c) => has(c, before[2])));

    // A's subscriber goes silent: what Redis sends it is held, its command connection works.
    expect(proxy.stallSubscribers()).toBe(1);
    say(sender, 'lost echo');
    // Redis ran the publish script: B has the frame, sequenced; its echo to A is in the proxy.
    await until(() => has(remote, 'lost echo') && has(remoteSender, 'lost echo') && proxy.heldBytes > 0);
    expect(has(sender, 'lost echo') || has(local, 'lost echo')).toBe(false);
    // The subscriber connection is cut with the echo in it, and kept from reconnecting: once
    // back, it would read the room back from its history and find the frame there, so a node
    // that had dropped it would pass (checked: with the close hook removed, it did).
    proxy.refuseNewConnections(true);
    expect(proxy.cutSubscribers()).toBe(1);
    await until(() => redisOf(a) === 'down');

    // A's members get the frame while the subscriber is still away: nothing else can bring it.
    await until(() => has(sender, 'lost echo') && has(local, 'lost echo'));
    expect(redisOf(a)).toBe('down');

    // The subscriber comes back; traffic goes on from both nodes.
    proxy.refuseNewConnections(false);
    await until(() => redisOf(a) === 'up', 10_000);
    const after = range(1, 6).map((i) => `after ${i}`);
    for (const [i, content] of after.entries()) {
      say(i % 2 === 0 ? sender : remoteSender, content);
      await until(() => everyone.every((c) => has(c, content)));
    }

    // Every member on both nodes: every message once, in the one order, seqs without a gap.
    const sent = [...before, 'lost echo', ...after];
    for (const client of everyone) {
      expect(contents(client)).toEqual(sent);
      const frames = chats(client);
      const first = frames[0].seq as number;
      expect(frames.map((f) => f.seq)).toEqual(range(first, first + sent.length - 1));
      expect(new Set(frames.map((f) => f.epoch)).size).toBe(1);
    }
    expect(chats(sender)).toEqual(chats(remote));
  }, 30_000);
});

import { describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { ClusterChannels } from '../../lib/cluster/cluster-channels.js';
import { LiveNodes } from '../../lib/cluster/redis/live-nodes.js';
import { RedisPresence } from '../../lib/cluster/redis/redis-presence.js';
import { presenceDiffJson } from '../../lib/protocol/presence-diff.js';
import { useCleanup } from '../support/cleanup.js';
import { usePresenceRedis } from '../support/presence-redis.js';
import { until } from '../support/until.js';

/**
 * A node starved of CPU for `nodeTimeout` is taken for dead: another node purges its share of
 * each room's presence and announces its users leaving. The node is alive and its users are still
 * there; once it runs again it writes its shares back, and that write must announce them arriving
 * again, or every member's list stays short of them for good while `presence_state` lists them
 * (a two-node join storm under a loaded suite ended with all 1 500 lists at ~1 000: one node's
 * users, purged mid-storm). (RedisPresence's bookkeeping, the same on every backend.)
 */
describe('a live node purged as dead', () => {
  const redis = usePresenceRedis();
  const cleanup = useCleanup();

  /** Two nodes' presence on one prefix, and what the room's channel carries, as diffs' data. */
  async function twoNodes(name: string) {
    const channels = new ClusterChannels(`purged-${name}-${process.pid}`);
    const room = `p-room-${name}`;
    const presence = (nodeId: string) =>
      new RedisPresence(channels, nodeId, 10_000, 2000, new LiveNodes(nodeId), 'publish', new Logger(name));
    const heard: { joins: { user_id: string }[]; leaves: { user_id: string }[] }[] = [];
    const subscriber = redis.backend.client();
    cleanup.defer(() => subscriber.disconnect());
    // A header naming the publishing node, then the frame.
    subscriber.on('message', (_channel: string, message: string) =>
      heard.push((JSON.parse(message.slice(message.lastIndexOf('\n') + 1)) as { data: (typeof heard)[0] }).data),
    );
    await subscriber.subscribe(channels.room(room));
    const diff = (kind: 'joins' | 'leaves') => presenceDiffJson(room, kind, 'amy', 'Amy');
    const users = async (node: RedisPresence) => (await node.state(redis.client, room)).map((entry) => entry.user_id);
    return { room, a: presence('node-a'), b: presence('node-b'), heard, diff, users };
  }

  const quiet = () => new Promise((resolve) => setTimeout(resolve, 200));
  const names = (diffs: { joins: { user_id: string }[]; leaves: { user_id: string }[] }[]) =>
    diffs.map((d) => [...d.joins.map((u) => `+${u.user_id}`), ...d.leaves.map((u) => `-${u.user_id}`)].join());

  it('announces its users arriving again when its next heartbeat writes its share back', async () => {
    const { room, a, b, heard, diff, users } = await twoNodes('beat');
    await b.changed(redis.client, room, 'amy', 'Amy', 1, diff('joins'), undefined);
    await until(() => heard.length === 1);
    // Node A takes B for dead: amy leaves every member's list, and presence_state.
    await a.purge(redis.client, 'node-b');
    await until(() => heard.length === 2);
    expect(await users(a)).toEqual([]);

    await b.beat(redis.client);
    await until(() => heard.length === 3);
    expect(names(heard)).toEqual(['+amy', '-amy', '+amy']);
    expect(await users(a)).toEqual(['amy']);
    // Announced once: the next heartbeat has nothing more to say.
    await b.beat(redis.client);
    await quiet();
    expect(heard).toHaveLength(3);
  });

  it('announces a purged user again when its share comes back with another tab (nothing to announce for a tab)', async () => {
    const { room, a, b, heard, diff, users } = await twoNodes('tab');
    await b.changed(redis.client, room, 'amy', 'Amy', 1, diff('joins'), undefined);
    await a.purge(redis.client, 'node-b');
    await until(() => heard.length === 2);
    // A second tab: no diff of its own, but it writes amy back into B's share.
    await b.changed(redis.client, room, 'amy', 'Amy', 2, undefined, undefined);
    expect(await users(a)).toEqual(['amy']);
    await b.beat(redis.client);
    await until(() => heard.length === 3);
    expect(names(heard)).toEqual(['+amy', '-amy', '+amy']);
    await b.beat(redis.client);
    await quiet();
    expect(heard).toHaveLength(3);
  });
});

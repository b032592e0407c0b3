import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { ClusterChannels } from '../../lib/cluster/cluster-channels.js';
import { LiveNodes } from '../../lib/cluster/redis/live-nodes.js';
import { RedisNodeRegistry } from '../../lib/cluster/redis/redis-node-registry.js';
import { RedisPresence } from '../../lib/cluster/redis/redis-presence.js';
import { defineScripts } from '../../lib/cluster/redis/redis-scripts.js';
import { useCleanup } from '../support/cleanup.js';
import { REDIS_BACKENDS, type RedisBackend } from '../support/redis-backends.js';

/** The adapter's defaults: the old renewal ran every 2 × nodeTimeout = 20 s. */
const HEARTBEAT = 2000;
const NODE_TIMEOUT = 10_000;
/** max(10 × nodeTimeout, 5 min), and an online entry's lease: three of them. */
const RENEWAL = 300_000;
const LEASE = 3 * RENEWAL;
const USERS = 300;
/** At most twice the steady rate per beat: ceil(300 × 2 × 2 s / 300 s). */
const BUDGET = 4;

/** PEXPIRE calls since the last `CONFIG RESETSTAT`, summed over the servers. */
async function pexpireCalls(servers: Redis[]): Promise<number> {
  let calls = 0;
  for (const info of await Promise.all(servers.map((server) => server.info('commandstats')))) {
    calls += Number(/^cmdstat_pexpire:calls=(\d+)/m.exec(info)?.[1] ?? 0);
  }
  return calls;
}

/**
 * The users' online entries are read only for the nodes live in the node table, so their TTL is
 * garbage collection for a dead node nobody purged, like the presence shares' keeps: renewed once
 * per renewal period, oldest first and spread over the heartbeats, not a PEXPIRE per user every
 * 2 × nodeTimeout (~3 000 a second for 60 000 idle users). The registry is driven here by hand,
 * one `beat()` per heartbeat, with this process's clock moved forward (Redis's is not): a renewal
 * period passes in a second.
 */
describe.each(REDIS_BACKENDS)('users’ online entries in Redis on %s', (_name, backendFactory) => {
  let backend: RedisBackend;
  let client: Redis | Cluster;
  let servers: Redis[];
  let clock = 0;
  const cleanup = useCleanup();
  const users = Array.from({ length: USERS }, (_, i) => `online-user-${i}`);

  /** A registry of `nodeId` with `users` on it, registered now (at `clock`). */
  async function registry(prefix: string, nodeId: string) {
    const channels = new ClusterChannels(prefix);
    const live = new LiveNodes(nodeId);
    const logger = new Logger('online-lease');
    const presence = new RedisPresence(channels, nodeId, NODE_TIMEOUT, HEARTBEAT, live, 'publish', logger);
    const node = new RedisNodeRegistry(
      channels,
      nodeId,
      NODE_TIMEOUT,
      HEARTBEAT,
      presence,
      live,
      logger,
      () => client,
      () => false,
    );
    for (const userId of users) node.users.add(userId);
    await node.register(true);
    return { node, channels, registeredAt: clock };
  }

  /** One heartbeat, `HEARTBEAT` later by this process's clock; the PEXPIREs it cost. */
  async function beat(node: RedisNodeRegistry): Promise<number> {
    clock += HEARTBEAT;
    const before = await pexpireCalls(servers);
    await node.beat();
    return (await pexpireCalls(servers)) - before;
  }

  beforeAll(async () => {
    backend = await backendFactory();
    client = backend.client();
    defineScripts(client);
    RedisPresence.define(client);
    await client.ping();
    servers = backend.servers();
  }, 30_000);
  afterAll(async () => {
    for (const server of servers) server.disconnect();
    client.disconnect();
    await backend.stop();
  });
  beforeEach(() => {
    clock = Date.now();
    const now = jest.spyOn(Date, 'now').mockImplementation(() => clock);
    cleanup.defer(() => now.mockRestore());
  });

  it('are written with the lease, then renewed once per renewal period, at most the budget per beat', async () => {
    const { node, channels, registeredAt } = await registry(`online${process.pid}a`, 'lease-node');
    // (b) A registration writes the lease at once.
    for (const userId of [users[0], users[USERS - 1]]) {
      const ttl = await client.pttl(channels.online(userId));
      expect(ttl).toBeGreaterThan(LEASE - 10_000);
      expect(ttl).toBeLessThanOrEqual(LEASE);
    }

    // (a) Idle for most of a renewal period (a dozen of the old 20 s renewals): the beats renew
    // the node's user set and room counts, and no online entry.
    const idle: number[] = [];
    while (clock + HEARTBEAT - registeredAt < RENEWAL) idle.push(await beat(node));
    expect(idle.length).toBeGreaterThan(100);
    expect(Math.max(...idle)).toBe(2);

    // Due together (registered together): renewed over the next beats, oldest first, within the
    // budget, each once, all within half a period.
    const renewals: number[] = [];
    const halfPeriod = RENEWAL / 2 / HEARTBEAT;
    for (let i = 0; i < halfPeriod + 5; i++) renewals.push((await beat(node)) - 2);
    expect(Math.max(...renewals)).toBe(BUDGET);
    expect(renewals.slice(0, halfPeriod).reduce((sum, n) => sum + n, 0)).toBe(USERS);
    expect(renewals.slice(halfPeriod)).toEqual([0, 0, 0, 0, 0]);
    expect(await client.pttl(channels.online(users[USERS - 1]))).toBeGreaterThan(LEASE - 10_000);
  }, 60_000);

  it('an entry deleted behind the node’s back is written again when its renewal is due', async () => {
    const { node, channels, registeredAt } = await registry(`online${process.pid}b`, 'gone-node');
    const gone = channels.online(users[0]);
    await client.del(gone);

    // Not before: the node's user set is there, so nothing tells the node the entry went.
    while (clock + HEARTBEAT - registeredAt < RENEWAL) await beat(node);
    expect(await client.hget(gone, 'gone-node')).toBeNull();

    // Due with the others registered with it: back within the half period they are spread over.
    let beats = 0;
    while ((await client.hget(gone, 'gone-node')) === null && beats < RENEWAL / 2 / HEARTBEAT) {
      await beat(node);
      beats++;
    }
    expect(await client.hget(gone, 'gone-node')).toBe('1');
    expect(await client.pttl(gone)).toBeGreaterThan(LEASE - 10_000);
  }, 60_000);
});

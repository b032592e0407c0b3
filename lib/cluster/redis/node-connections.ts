import type { Cluster, Redis } from 'ioredis';

/**
 * The part of one Redis server's connection that the command hooks use: ioredis's `Redis`,
 * whose `sendCommand` every command goes through (a Cluster's commands through the shard's),
 * and its socket.
 */
export interface NodeConnection {
  sendCommand(command: unknown, ...rest: unknown[]): unknown;
  stream?: { cork(): void; uncork(): void; destroyed?: boolean };
}

/**
 * Runs `install` on every server connection of `client`: the client itself, or each shard's
 * connection of a Redis Cluster, as ioredis makes it (not the sharded subscribers' own
 * connections, which ioredis keeps to itself). `install` is run once per connection.
 */
export function forEachNodeConnection(client: Redis | Cluster, install: (node: NodeConnection) => void): void {
  const seen = new WeakSet<object>();
  const once = (node: object): void => {
    if (seen.has(node)) return;
    seen.add(node);
    install(node as NodeConnection);
  };
  if ('isCluster' in client && client.isCluster) {
    const cluster = client as Cluster;
    cluster.on('+node', (node: Redis) => once(node));
    for (const node of cluster.nodes('all')) once(node);
    return;
  }
  once(client);
}

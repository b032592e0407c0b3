/**
 * Every use of ioredis's non-public API, in one place. ioredis has no hook for what the Redis
 * adapter needs here; `test/unit/internal/ioredis-internals.spec.ts` pins each item for the
 * installed ioredis, so an upgrade that changes one fails that test instead of a cluster at run
 * time. What it relies on (ioredis 5):
 *
 * - every command of a `Redis` connection (a Cluster's go through its shard's `Redis`) passes
 *   through the instance's `sendCommand(command, stream?)`, which writes it to `redis.stream`,
 *   the socket, at once — an instance property set over it is called instead (the command
 *   hooks: cluster/redis/command-coalescing.ts, patient-command-timeout.ts); its replies are
 *   read from that same socket (`bytesRead` grows with each);
 * - `sendCommand` arms the `commandTimeout` by calling the command's `setTimeout(ms)`, whose
 *   timer it keeps in `_commandTimeoutTimer` and clears (`_clearTimers`) when the command is
 *   settled; `isResolved` is set once a reply resolved it;
 * - `disconnect()` of a client whose socket is already gone waits for that socket's 'close'
 *   (redis/ioredis#1247: a 2 s timer otherwise);
 * - the commands in flight when a connection drops are kept in `prevCommandQueue` (a Denque of
 *   `{ command }`), to be sent again once it is back; no `disconnect()` settles them.
 */
import type { Cluster, Redis } from 'ioredis';

/** One Redis server's connection as the command hooks see it. */
export interface RedisConnection {
  sendCommand(command: unknown, ...rest: unknown[]): unknown;
  /**
   * The socket commands are written to and replies read from (replaced on reconnect); a
   * `net.Socket` (or `tls.TLSSocket`), whose `bytesRead` counts what Redis has sent on it.
   */
  readonly stream?: { cork(): void; uncork(): void; readonly destroyed?: boolean; readonly bytesRead: number };
}

/** An ioredis `Command` as a `commandTimeout` replacement sees it. */
export interface TimedCommand {
  /** Called by `sendCommand` with the `commandTimeout`; an own property set over it is called instead. */
  setTimeout?: (ms: number) => void;
  readonly isResolved: boolean;
  reject(error: Error): void;
  /** Where the timeout's timer is kept: ioredis clears it when the command settles. */
  _commandTimeoutTimer?: ReturnType<typeof setTimeout>;
}

/**
 * Calls `hook(send)` for each server connection of `client` — the client itself, or each
 * shard's connection of a Redis Cluster as ioredis makes it (not the sharded subscribers' own,
 * which ioredis keeps to itself) — and routes that connection's commands through what it
 * returns; `send` is the connection's own `sendCommand`. Once per connection per call.
 */
export function hookSendCommand(
  client: Redis | Cluster,
  hook: (send: RedisConnection['sendCommand'], connection: RedisConnection) => RedisConnection['sendCommand'],
): void {
  const hooked = new WeakSet<object>();
  const install = (node: object): void => {
    if (hooked.has(node)) return;
    hooked.add(node);
    const connection = node as RedisConnection;
    connection.sendCommand = hook(connection.sendCommand.bind(connection), connection);
  };
  if ('isCluster' in client && client.isCluster) {
    const cluster = client as Cluster;
    cluster.on('+node', (node: Redis) => install(node));
    for (const node of cluster.nodes('all')) install(node);
    return;
  }
  install(client);
}

/**
 * `client.disconnect()` (no client: nothing), with nothing left running once it returns. A
 * client whose socket is already gone (Redis unreachable, ioredis waiting to reconnect) still
 * holds that dead socket, whose 'close' was emitted long ago; `disconnect()` would arm a 2 s
 * timer waiting for it and keep the process alive after `app.close()`. Such a socket gets its
 * 'close' again, which is all that timer waits for; the reconnection itself is cancelled by
 * `disconnect()`.
 */
export function disconnectNow(client: Redis | Cluster | undefined): void {
  if (client === undefined) return;
  const socket = 'stream' in client ? client.stream : undefined;
  const dead = socket?.destroyed === true;
  const connections = 'stream' in client ? [client] : client.nodes('all');
  client.disconnect();
  if (dead) socket.emit('close', false);
  for (const connection of connections) failUnsent(connection);
}

/** Commands of a drop, held to be sent again on a reconnect. */
interface HeldCommands {
  prevCommandQueue?: { shift(): { command: TimedCommand } | undefined } | null;
}

/**
 * Fails the commands that were in flight when the connection dropped: after `disconnect()` it
 * never reconnects to send them, and each would otherwise wait for its `commandTimeout` (its
 * timer keeping the process alive that long after `app.close()`; its caller waiting too).
 */
function failUnsent(connection: Redis): void {
  const held = connection as unknown as HeldCommands;
  const queue = held.prevCommandQueue;
  if (!queue) return;
  held.prevCommandQueue = null;
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    item.command.reject(new Error('Connection is closed.'));
  }
}

import type { Cluster, Redis } from 'ioredis';
import { hookSendCommand, type RedisConnection } from '../../internal/ioredis-internals.js';

/**
 * Redis command coalescing: the commands a node sends on one connection within a turn of the
 * event loop leave in one socket write, as a WebSocket connection's frames do (`WriteBatch`).
 * ioredis writes each command to the socket at once, one `write` syscall per command; in a
 * reconnect herd a turn handles dozens of clients' `auth`/`resume`/`join_room`, each a few
 * commands, and those writes were a fifth of the node's CPU (a profile of `bench/drain.mjs`'s
 * move: `writeUtf8String` under `sendCommand`). The first command of a turn corks the socket;
 * one `setImmediate` uncorks it, after the poll phase that issued them.
 *
 * Not ioredis's `enableAutoPipelining`: it defers a command to a pipeline sent on the next tick,
 * or after the replies to the pipeline before it, while `multi`, `script` and a few others are
 * written at once: a transaction could overtake a script call issued before it (the registry
 * writes users with MULTI, presence with scripts). Corking keeps every command in the order it
 * was issued on the wire; it only merges the syscalls.
 *
 * Installed on both connections (the subscriber's too: each user arriving on a node subscribes
 * its user channel), on each shard's for a Redis Cluster ({@link hookSendCommand}).
 */
export function coalesceCommands(client: Redis | Cluster): void {
  hookSendCommand(client, coalescing);
}

function coalescing(send: RedisConnection['sendCommand'], connection: RedisConnection): RedisConnection['sendCommand'] {
  let corked: RedisConnection['stream'];
  const uncork = (): void => {
    const stream = corked;
    corked = undefined;
    if (stream && !stream.destroyed) stream.uncork();
  };
  return (command, ...rest) => {
    const stream = connection.stream;
    if (corked === undefined && stream !== undefined && !stream.destroyed) {
      corked = stream;
      stream.cork();
      setImmediate(uncork);
    }
    return send(command, ...rest);
  };
}

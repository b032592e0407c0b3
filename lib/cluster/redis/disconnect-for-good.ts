import type { Cluster, Redis } from 'ioredis';

/**
 * Closes an ioredis client for good, with nothing left running once it returns.
 *
 * `disconnect()` ends the client's socket and arms a timer (ioredis' `disconnectTimeout`, 2 s)
 * that destroys the socket unless its 'close' comes first. A client whose socket is already gone
 * (Redis unreachable, ioredis waiting to reconnect: status `reconnecting`) still holds that dead
 * socket, whose 'close' was emitted long ago: the timer then runs its 2 s and keeps the process
 * alive after `app.close()` (redis/ioredis#1247). Such a socket gets its 'close' again, which is
 * all that timer waits for; the reconnection itself is cancelled by `disconnect()`.
 */
export function disconnectForGood(client: Redis | Cluster | undefined): void {
  if (client === undefined) return;
  const socket = 'stream' in client ? client.stream : undefined;
  const dead = socket?.destroyed === true;
  client.disconnect();
  if (dead) socket.emit('close', false);
}

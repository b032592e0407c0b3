import type { Cluster, Redis } from 'ioredis';
import { hookSendCommand, type RedisConnection, type TimedCommand } from '../../internal/ioredis-internals.js';

/**
 * How much later than due a deadline may fire and still count as on time; later, the event loop
 * was stalled. The same judgement as the client SDK's `PatientTimer` (a quarter of the delay at
 * most for short ones).
 */
const MAX_SLACK_MS = 20;
/** The hop a late deadline waits, during which the replies that arrived meanwhile are read. */
const GRACE_MS = 10;

/**
 * A command as this file sees it: ioredis's, plus where it was last handed to (ours: set at each
 * `sendCommand` — the first send, a resend after a reconnect, a Redis Cluster redirect to
 * another shard's connection).
 */
interface PatientCommand extends TimedCommand {
  patientConnection?: RedisConnection;
  patientSentOn?: RedisConnection['stream'];
}

/**
 * ioredis's `commandTimeout` (the adapter's 5 s) made to mean "Redis stopped answering", which
 * is what the adapter acts on (a room publish then goes local under this node's epoch; for the
 * room's members an epoch change, `resume_failed` `epoch_changed` later, and a duplicate if the
 * publish did run; a presence write is redone). ioredis arms one timer per command and fails the
 * command when it fires, which also blamed Redis for two things that are not Redis failing:
 *
 * - **The node's own stalls.** After a stall of the event loop (a GC, a reconnect herd's burst
 *   of work) timers run before the poll phase that reads the replies which arrived meanwhile:
 *   every command in flight failed although Redis had answered. Seen in the 60 000 drain
 *   (`bench/README.md`): 1 596 such timeouts in one herd with Redis at 3% CPU. A deadline that
 *   fires late by more than the slack first waits a short hop, during which pending replies are
 *   read and resolve their commands.
 * - **A queue ahead of the command.** Redis answers a connection's commands in order: when a
 *   herd's thousands of presence writes are ahead of a publish, the publish waits for all of
 *   them while Redis answers steadily. The 60 000 runs ended with ~47 000 presence writes
 *   failed this way when the clients left at once. A command whose connection has received
 *   replies since its deadline was armed is waiting its turn, not lost: its deadline starts
 *   again, from what has been read by then.
 *
 * So a command fails once its connection has read nothing from Redis for the whole timeout, at
 * the latest the timeout plus the hop after Redis went silent (paused, stuck in a script, a
 * half-open connection): as before for Redis that is really slow or gone.
 */
export function patientCommandTimeouts(client: Redis | Cluster): void {
  hookSendCommand(client, patience);
}

function patience(send: RedisConnection['sendCommand'], connection: RedisConnection): RedisConnection['sendCommand'] {
  return (command, ...rest) => {
    const timed = command as PatientCommand;
    if (typeof timed.setTimeout === 'function') timed.setTimeout = armPatiently;
    timed.patientConnection = connection;
    timed.patientSentOn = connection.stream;
    return send(command, ...rest);
  };
}

/** ioredis's `setTimeout(ms)`, called with the command as `this` by `sendCommand`: one per command. */
function armPatiently(this: PatientCommand, ms: number): void {
  if (this._commandTimeoutTimer !== undefined) return;
  arm(this, ms);
}

/** (Re)arms a command's deadline `ms` from now, remembering how much its connection had read. */
function arm(command: PatientCommand, ms: number): void {
  const stream = command.patientConnection?.stream;
  const lateAfter = Date.now() + ms + Math.min(MAX_SLACK_MS, ms / 4);
  // Kept where ioredis clears it when the reply comes (`_clearTimers`).
  command._commandTimeoutTimer = setTimeout(deadline, ms, command, ms, lateAfter, stream, stream?.bytesRead);
}

function deadline(
  command: PatientCommand,
  ms: number,
  lateAfter: number,
  stream: RedisConnection['stream'],
  bytesRead: number | undefined,
): void {
  if (command.isResolved) return;
  if (Date.now() > lateAfter) {
    // Stalled: read what arrived first (the hop is judged on time, whatever it finds).
    command._commandTimeoutTimer = setTimeout(
      deadline,
      GRACE_MS,
      command,
      ms,
      Number.POSITIVE_INFINITY,
      stream,
      bytesRead,
    );
    return;
  }
  // Only the stream a command was handed to can answer it. ioredis drops, without settling them,
  // the commands in flight on a connection that closes before it is ready (its handshake's
  // CLIENT SETINFO, seen in the chaos soak): the next connection's replies are not theirs, and
  // waiting for them re-armed their deadline for ever, a timer each (and the caller waiting).
  const connection = command.patientConnection;
  if (connection === undefined || connection.stream !== command.patientSentOn) {
    command.reject(new Error('Command timed out'));
    return;
  }
  if (answeredSince(connection, stream, bytesRead)) {
    arm(command, ms);
    return;
  }
  command.reject(new Error('Command timed out'));
}

/**
 * Whether Redis sent anything on the connection since `bytesRead` was read from `stream` (a
 * connection made again since counts by what its new socket has read).
 */
function answeredSince(
  connection: RedisConnection,
  stream: RedisConnection['stream'],
  bytesRead: number | undefined,
): boolean {
  const now = connection.stream;
  if (now === undefined) return false;
  return now === stream ? now.bytesRead > (bytesRead ?? 0) : now.bytesRead > 0;
}

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
 * ioredis's `commandTimeout` (the adapter's 5 s), not counting the node's own stalls against
 * Redis. ioredis arms one timer per command; after a stall of the event loop (a GC, a reconnect
 * herd's burst of work) timers run before the poll phase that reads the replies which arrived
 * meanwhile, so every command in flight failed with "Command timed out" although Redis had
 * answered — a publish then went local under this node's epoch (for a room's members, an epoch
 * change: `resume_failed` `epoch_changed` later), a presence write was redone. Seen in the 60 000
 * drain (`bench/README.md`): 1 596 such timeouts in one herd with Redis at 3% CPU.
 *
 * Here a deadline that fires late by more than the slack first waits a short hop, during which
 * pending replies are read and resolve their commands; only a command still unanswered then
 * fails. A deadline on time fails as before. Redis that is really slow or gone is still detected
 * within the timeout plus the hop.
 */
export function patientCommandTimeouts(client: Redis | Cluster): void {
  hookSendCommand(client, patience);
}

function patience(send: RedisConnection['sendCommand']): RedisConnection['sendCommand'] {
  return (command, ...rest) => {
    const timed = command as TimedCommand;
    if (typeof timed.setTimeout === 'function') timed.setTimeout = armPatiently;
    return send(command, ...rest);
  };
}

function armPatiently(this: TimedCommand, ms: number): void {
  if (this._commandTimeoutTimer !== undefined) return;
  const lateAfter = Date.now() + ms + Math.min(MAX_SLACK_MS, ms / 4);
  // Kept where ioredis clears it when the reply comes (`_clearTimers`).
  this._commandTimeoutTimer = setTimeout(deadline, ms, this, lateAfter);
}

function deadline(command: TimedCommand, lateAfter: number): void {
  if (command.isResolved) return;
  if (Date.now() > lateAfter) {
    command._commandTimeoutTimer = setTimeout(deadline, GRACE_MS, command, Number.POSITIVE_INFINITY);
    return;
  }
  command.reject(new Error('Command timed out'));
}

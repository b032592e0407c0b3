import { describe, expect, it } from '@jest/globals';
import { Command, Redis } from 'ioredis';
import { hookSendCommand, type TimedCommand } from '../../../lib/internal/ioredis-internals.js';

/**
 * Pins the ioredis internals the Redis adapter's command hooks use (lib/internal/ioredis-internals.ts)
 * for the installed ioredis, without a Redis (a connect to port 1 is refused at once). A failure
 * after an ioredis upgrade means command coalescing or the patient command timeout needs a look.
 * The hooks over real connections, and a Cluster's per-shard connections ('+node'), are pinned by
 * test/cluster/command-coalescing and patient-command-timeout; the disconnect of a dead socket, and
 * the commands held for a resend failed at a disconnect, by test/cluster/close-leaves-nothing.
 */
describe('ioredis internals', () => {
  const refused = (options: object = {}) => {
    const client = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, retryStrategy: () => null, ...options });
    client.on('error', () => undefined);
    return client;
  };

  it('routes every command of a connection through its sendCommand, an own property set over it included', async () => {
    const client = refused();
    const seen: string[] = [];
    hookSendCommand(client, () => (command) => {
      const c = command as Command;
      seen.push(c.name);
      c.resolve(Buffer.from('hooked'));
      return c.promise;
    });
    expect(await client.get('k')).toBe('hooked');
    expect(await client.set('k', 'v')).toBe('hooked');
    expect(seen).toEqual(['get', 'set']);
  });

  it("arms the commandTimeout through the command's setTimeout", async () => {
    const client = refused({ commandTimeout: 1234, enableOfflineQueue: true });
    const command = new Command('get', ['k']);
    const armed: number[] = [];
    (command as unknown as TimedCommand).setTimeout = (ms) => armed.push(ms);
    const settled = command.promise.catch(() => 'refused'); // queued, then failed with the connect
    const ended = new Promise((resolve) => client.once('end', resolve));
    client.sendCommand(command);
    expect(armed).toEqual([1234]);
    await ended;
    expect(await settled).toBe('refused');
  });

  it('keeps the timeout timer in _commandTimeoutTimer and clears it when the command settles', async () => {
    const answered = new Command('get', ['k'], { replyEncoding: 'utf8' });
    const timed = answered as unknown as TimedCommand;
    answered.setTimeout(60_000);
    expect(timed._commandTimeoutTimer).toBeDefined();
    expect(timed.isResolved).toBe(false);
    answered.resolve(Buffer.from('v'));
    expect(await answered.promise).toBe('v');
    expect(timed.isResolved).toBe(true);
    expect(timed._commandTimeoutTimer).toBeUndefined();

    const failed = new Command('get', ['k']);
    failed.setTimeout(60_000);
    failed.reject(new Error('refused'));
    await expect(failed.promise).rejects.toThrow('refused');
    expect((failed as unknown as TimedCommand)._commandTimeoutTimer).toBeUndefined();
  });
});

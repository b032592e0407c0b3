import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { createConnection, createServer, type AddressInfo, type Server } from 'node:net';
import { coalesceCommands } from '../../lib/cluster/redis/command-coalescing.js';
import { patientCommandTimeouts } from '../../lib/cluster/redis/patient-command-timeout.js';
import { TestRedis } from '../support/redis-server.js';

/** Blocks the event loop, as a GC pause or a burst of work does. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}

/**
 * Keeps Redis busy for ARGV[1] ms in one command, answering nothing on any connection meanwhile.
 * Padded past the 16 KB Redis reads from a connection at a time, so that commands sent together
 * are read, run and answered one by one, as a long queue is: Redis answers what it ran in one
 * read only at the end of it (the padding is a Lua comment).
 */
const BUSY = `
local t0 = redis.call('TIME')
local t
repeat t = redis.call('TIME') until (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) >= tonumber(ARGV[1]) * 1000
return 'OK'
--${'-'.repeat(20_000)}`;

function busy(c: Redis, ms: number): Promise<string> {
  return c.eval(BUSY, 0, String(ms)) as Promise<string>;
}

/**
 * ioredis's `commandTimeout` judged after the replies that arrived during a stall are read, and
 * only when Redis has stopped answering the connection.
 */
describe('patient Redis command timeouts', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await TestRedis.start();
  });
  afterAll(() => redis.stop());
  afterEach(async () => {
    // What a test left Redis running (commands that timed out here) ends before the next starts.
    const admin = new Redis(redis.port, '127.0.0.1');
    await admin.ping();
    admin.disconnect();
  });

  async function client(patient: boolean): Promise<Redis> {
    const c = new Redis(redis.port, '127.0.0.1', { commandTimeout: 100, maxRetriesPerRequest: 0 });
    coalesceCommands(c); // as the adapter installs both
    if (patient) patientCommandTimeouts(c);
    await c.ping();
    return c;
  }

  /** A command answered at once, while this process is stalled past the timeout. */
  async function answeredDuringAStall(c: Redis): Promise<string | Error> {
    const reply = c.set('patient', 'yes').catch((error: Error) => error);
    // Written at the end of this turn (the coalescing); Redis answers it while we are stalled.
    await new Promise((resolve) => setImmediate(resolve));
    stall(400);
    return reply as Promise<string | Error>;
  }

  it('does not fail a command that Redis answered while the event loop was stalled', async () => {
    const c = await client(true);
    try {
      expect(await answeredDuringAStall(c)).toBe('OK');
    } finally {
      c.disconnect();
    }
  });

  it('without it, ioredis fails that command (what this prevents)', async () => {
    const c = await client(false);
    try {
      const result = await answeredDuringAStall(c);
      expect(result).toBeInstanceOf(Error);
      expect((result as Error).message).toBe('Command timed out');
    } finally {
      c.disconnect();
    }
  });

  /**
   * Six commands of 60 ms each, then a GET, in one turn: Redis answers one every 60 ms (well
   * within the 100 ms timeout), the GET after ~360 ms.
   */
  async function queuedBehindBusyCommands(c: Redis): Promise<(string | Error)[]> {
    const replies: Promise<string | Error>[] = [];
    for (let i = 0; i < 6; i++) {
      replies.push(busy(c, 60).catch((error: Error) => error));
    }
    replies.push((c.get('queued') as Promise<string>).catch((error: Error) => error));
    return Promise.all(replies);
  }

  it('does not fail a command queued behind others while Redis answers them', async () => {
    const c = await client(true);
    try {
      await c.set('queued', 'reached');
      const started = Date.now();
      expect(await queuedBehindBusyCommands(c)).toEqual(['OK', 'OK', 'OK', 'OK', 'OK', 'OK', 'reached']);
      expect(Date.now() - started).toBeGreaterThanOrEqual(350); // it did wait past the timeout
    } finally {
      c.disconnect();
    }
  });

  it('without it, ioredis fails every command that waited in that queue past the timeout', async () => {
    const c = await client(false);
    try {
      const results = await queuedBehindBusyCommands(c);
      const timedOut = results.filter((r) => r instanceof Error && r.message === 'Command timed out');
      // The first answers at 60 ms; from the second (120 ms) on, each waited past 100 ms.
      expect(results[0]).toBe('OK');
      expect(timedOut.length).toBeGreaterThanOrEqual(5);
    } finally {
      c.disconnect();
    }
  });

  it('fails a command once Redis has been silent for the timeout, though it answered before', async () => {
    const c = await client(true);
    try {
      const first = busy(c, 60);
      const started = Date.now();
      const silent = busy(c, 400).catch((error: Error) => error);
      const behind = (c.get('queued') as Promise<string>).catch((error: Error) => error);
      expect(await first).toBe('OK');
      const error = (await silent) as Error;
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toBe('Command timed out');
      // Deadline re-armed at 100 ms (the first reply had come), failed at 200 ms: Redis silent since 60 ms.
      expect(elapsed).toBeGreaterThanOrEqual(150);
      expect(elapsed).toBeLessThan(420); // before Redis answers it
      expect(((await behind) as Error).message).toBe('Command timed out');
    } finally {
      c.disconnect();
    }
  });

  it('still fails a command Redis does not answer in time, within the timeout plus a short hop', async () => {
    const c = await client(true);
    const admin = new Redis(redis.port, '127.0.0.1');
    try {
      await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
      const started = Date.now();
      const error = (await c.get('patient').catch((e: Error) => e)) as Error;
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toBe('Command timed out');
      expect(elapsed).toBeGreaterThanOrEqual(95);
      expect(elapsed).toBeLessThan(900); // well before the pause ends and Redis answers
    } finally {
      await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      admin.disconnect();
      c.disconnect();
    }
  });

  /**
   * A front for Redis that hangs up on the first connection as soon as it has been sent anything
   * (ioredis's handshake: its CLIENT SETINFO commands), and pipes every later one to Redis.
   */
  async function hangUpOnTheFirstConnection(): Promise<Server> {
    let first = true;
    const server = createServer((socket) => {
      if (first) {
        first = false;
        socket.once('data', () => socket.destroy());
        return;
      }
      const upstream = createConnection(redis.port, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  it('fails a command ioredis dropped with a connection closed before it was ready, while the next one answers', async () => {
    const front = await hangUpOnTheFirstConnection();
    const c = new Redis((front.address() as AddressInfo).port, '127.0.0.1', {
      commandTimeout: 100,
      lazyConnect: true,
      retryStrategy: () => 20,
    });
    patientCommandTimeouts(c);
    // The handshake's commands, as ioredis sends them on each new connection.
    const handshake: Promise<string>[] = [];
    const sendClient = c.client.bind(c) as (...args: string[]) => Promise<unknown>;
    (c as unknown as { client: typeof sendClient }).client = (...args: string[]) => {
      const reply = sendClient(...args);
      // An error reply (SETINFO on a Redis before 7.2) is Redis answering too.
      handshake.push(
        reply.then(
          () => 'answered',
          (error: Error) => (error.message === 'Command timed out' ? 'timed out' : 'answered'),
        ),
      );
      return reply;
    };
    const pinging = setInterval(() => void c.ping().catch(() => undefined), 20); // the next connection keeps answering
    c.on('error', () => undefined); // the first connection's hang-up
    try {
      // The first connection's promise fails with it; the client connects again by itself.
      await c.connect().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 600));
      // Two SETINFO on the hung-up connection, two on the one that answered. Before: the first
      // two never settled (their deadline re-armed for ever on the next connection's replies).
      expect(handshake).toHaveLength(4);
      const settled = await Promise.race([
        Promise.all(handshake),
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 100)),
      ]);
      expect(settled).toEqual(['timed out', 'timed out', 'answered', 'answered']);
    } finally {
      clearInterval(pinging);
      c.disconnect();
      front.close();
    }
  });
});

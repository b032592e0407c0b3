import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ClientClosedError,
  type ChatMessageData,
  type Envelope,
  OfflineQueueFullError,
  RealtimeClient,
  RealtimeRequestError,
  RequestTimeoutError,
} from '../../lib/client/index.js';
import { WebSocket } from 'ws';
import { until } from '../support/until.js';
import { nextEvent, SampleServer } from './sample-server.js';

describe('RealtimeClient against the sample server (Node, ws)', () => {
  let server: SampleServer;
  const clients: RealtimeClient[] = [];
  const track = (client: RealtimeClient) => (clients.push(client), client);

  beforeAll(async () => {
    server = await SampleServer.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.disconnect()));
  });
  afterAll(() => server.close());

  it('connects, authenticates and resolves a request with the reply carrying its id', async () => {
    const ann = track(server.client('ann'));
    const states: string[] = [];
    ann.onEvent('connecting', () => states.push('connecting'));
    ann.onEvent('open', () => states.push('open'));
    await ann.connect();
    expect(ann.state).toBe('open');
    expect(states).toEqual(['connecting', 'open']);
    expect(ann.user).toEqual({ user_id: 'ann', username: 'ann', roles: [] });

    const reply = await ann.request('echo', { n: 1 });
    expect(reply).toMatchObject({ type: 'echo_response', data: { n: 1 } });
    expect(typeof reply.id).toBe('string');
    const [a, b] = await Promise.all([ann.request('echo', 'a'), ann.request('echo', 'b')]);
    expect([a.data, b.data]).toEqual(['a', 'b']);
  });

  it('rejects a request with a typed error on an error frame', async () => {
    const ann = track(server.client('ann'));
    await ann.connect();
    const notInRoom = await ann.request('chat', { room_id: 'nowhere', content: 'x' }).catch((e: unknown) => e);
    expect(notInRoom).toBeInstanceOf(RealtimeRequestError);
    expect(notInRoom).toMatchObject({ code: 'NOT_IN_ROOM', frameType: 'error' });
    await expect(ann.request('no_such_type')).rejects.toMatchObject({ code: 'UNKNOWN_TYPE' });
    await expect(ann.request('admin_message', { content: 'x' })).rejects.toMatchObject({
      code: 'INSUFFICIENT_PERMISSIONS',
      frameType: 'authorization_error',
    });
  });

  it('rejects a request that gets no reply with RequestTimeoutError, and keeps working', async () => {
    const ann = track(server.client('ann'));
    await ann.connect();
    await ann.join('quiet');
    // `chat` has no reply of its own (the broadcast does not repeat the id): it can only time out.
    const started = Date.now();
    const error = await ann.request('chat', { room_id: 'quiet', content: 'hi' }, { timeout: 150 }).catch((e) => e);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    expect((await ann.request('echo', 1)).data).toBe(1); // the client is fine afterwards
  });

  it('delivers typed frames to on() handlers: room chat and private messages', async () => {
    const ann = track(server.client('ann'));
    const bob = track(server.client('bob'));
    await Promise.all([ann.connect(), bob.connect()]);
    const joined = await ann.join('lobby');
    expect(joined).toMatchObject({ room_id: 'lobby', client_count: 1 });
    await bob.join('lobby');

    const chat: ChatMessageData[] = [];
    const privates: string[] = [];
    ann.on('chat_message', (message) => chat.push(message));
    ann.on('private_message', (message) => privates.push(`${message.from_username}:${message.content}`));
    bob.chat('lobby', 'hello');
    bob.privateMessage('ann', 'psst');
    await until(() => chat.length === 1 && privates.length === 1);
    expect(chat[0]).toMatchObject({ room_id: 'lobby', user_id: 'bob', username: 'bob', content: 'hello' });
    expect(privates).toEqual(['bob:psst']);

    await ann.leave('lobby');
    expect(ann.joinedRooms).toEqual([]);
  });

  it('does not crash when a handler throws: the error goes to the error event', async () => {
    const ann = track(server.client('ann'));
    const errors: Error[] = [];
    ann.onEvent('error', ({ error }) => errors.push(error));
    ann.on('echo_response', () => {
      throw new Error('handler bug');
    });
    await ann.connect();
    expect((await ann.request('echo', 'still')).data).toBe('still');
    expect(errors.map((e) => e.message)).toEqual(['handler bug']);
  });

  it('reconnects with full-jitter backoff, each delay within [0, min(cap, base * 2^n)]', async () => {
    const random = [0.999999, 0.5, 0, 0.999999, 0.75];
    let draws = 0;
    const ann = track(
      server.client('ann', {
        reconnect: { baseDelay: 50, maxDelay: 400, maxAttempts: 5 },
        random: () => random[draws++ % random.length],
        url: 'ws://127.0.0.1:1/ws', // nothing listens on port 1: every attempt fails
      }),
    );
    const delays: { attempt: number; delay: number }[] = [];
    const waits: number[] = [];
    let scheduledAt = 0;
    ann.onEvent('reconnecting', ({ attempt, delay }) => {
      delays.push({ attempt, delay });
      scheduledAt = Date.now();
    });
    ann.onEvent('connecting', ({ attempt }) => {
      if (attempt > 0) waits.push(Date.now() - scheduledAt);
    });
    const closed = nextEvent(ann, 'closed');
    await expect(ann.connect()).rejects.toThrow(/connection closed/);
    await closed;

    expect(delays.map((d) => d.attempt)).toEqual([1, 2, 3, 4, 5]);
    delays.forEach(({ delay }, n) => {
      const ceiling = Math.min(400, 50 * 2 ** n);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(ceiling);
      expect(delay).toBe(Math.floor(random[n] * ceiling));
    });
    // Timers never fire early: each attempt waited at least its delay (no upper bound: CI is slow).
    waits.forEach((waited, n) => expect(waited).toBeGreaterThanOrEqual(delays[n].delay - 1));
    expect(ann.state).toBe('closed');
  });

  it('reconnects after a server-side drop and resets the backoff once open for stableConnectionTime', async () => {
    const ann = track(server.client('ann', { reconnect: { baseDelay: 20, maxDelay: 100 }, stableConnectionTime: 50 }));
    await ann.connect();
    const first = ann.connectionInfo!.client_id;
    const reconnecting = nextEvent(ann, 'reconnecting');
    const reopened = nextEvent(ann, 'open');
    expect(server.dropUser('ann')).toBe(1);
    expect(await reconnecting).toMatchObject({ attempt: 1, code: 1006 });
    expect(await reopened).toMatchObject({ reconnects: 1 });
    expect(ann.connectionInfo!.client_id).not.toBe(first);
    expect(ann.user?.user_id).toBe('ann'); // re-authenticated on the new connection
    expect((await ann.request('echo', 'back')).data).toBe('back');

    await new Promise((resolve) => setTimeout(resolve, 60)); // stayed open long enough
    const again = nextEvent(ann, 'reconnecting');
    server.dropUser('ann');
    expect(await again).toMatchObject({ attempt: 1 }); // not 2: the backoff started over
    await nextEvent(ann, 'open');
  });

  it('reconnects within the drain window after 1012, and not at all after 4003, 1008 or disconnect()', async () => {
    const ann = track(
      server.client('ann', {
        reconnect: { baseDelay: 1000, maxDelay: 1000 },
        stableConnectionTime: 20,
        drainReconnect: { minDelay: 30, maxDelay: 60 },
      }),
    );
    await ann.connect();
    await new Promise((resolve) => setTimeout(resolve, 30)); // a working connection, not a flapping one
    const drained = nextEvent(ann, 'reconnecting');
    server.closeUser('ann', 1012, 'service restart');
    const { delay, code } = (await drained) as { delay: number; code: number };
    expect(code).toBe(1012);
    expect(delay).toBeGreaterThanOrEqual(30);
    expect(delay).toBeLessThanOrEqual(60);
    await nextEvent(ann, 'open');

    for (const code of [4003, 1008]) {
      const client = track(server.client(`u${code}`, { reconnect: { baseDelay: 10, maxDelay: 10 } }));
      await client.connect();
      let retried = false;
      client.onEvent('reconnecting', () => (retried = true));
      const closed = nextEvent(client, 'closed');
      server.closeUser(`u${code}`, code);
      expect(await closed).toMatchObject({ code });
      // The client decides when the socket closes: 'reconnecting' would have come before 'closed'.
      expect(retried).toBe(false);
      expect(client.state).toBe('closed');
    }

    let retried = false;
    ann.onEvent('reconnecting', () => (retried = true));
    await ann.disconnect();
    expect(ann.state).toBe('closed');
    await until(() => server.connectionsOf('ann').length === 0);
    // Closed for good: a reconnect would have been announced ('reconnecting') when the socket closed.
    expect(retried).toBe(false);
    expect(() => ann.send('echo', 1)).toThrow(ClientClosedError);
  });

  it('on 4001 reconnects only when a fresh token can be had', async () => {
    let calls = 0;
    const provided = track(
      server.client('tok', { token: () => (calls++, server.token('tok')), reconnect: { baseDelay: 10, maxDelay: 10 } }),
    );
    await provided.connect();
    expect(calls).toBe(1);
    const reopened = nextEvent(provided, 'open');
    server.closeUser('tok', 4001, 'token expired');
    await reopened;
    expect(calls).toBe(2); // the provider was asked again for the new connection

    const fixed = track(server.client('fixed', { reconnect: { baseDelay: 10, maxDelay: 10 } }));
    await fixed.connect();
    const closed = nextEvent(fixed, 'closed');
    server.closeUser('fixed', 4001, 'token expired');
    expect(await closed).toMatchObject({ code: 4001 });
  });

  it('on 4001 "authentication timeout" reconnects with the same token: that attempt was late, the token is fine', async () => {
    const slow = await SampleServer.start({ AUTH_TIMEOUT_MS: '300' });
    try {
      let sockets = 0;
      // The first socket's frames never leave the client (a stalled tab or a starved process,
      // whose `auth` does not reach the server in time); the next socket is a healthy one.
      class LateFirstAttempt extends WebSocket {
        constructor(url: string) {
          super(url);
          if (++sockets === 1) this.send = () => undefined;
        }
      }
      const bea = track(
        slow.client('bea', { WebSocket: LateFirstAttempt, reconnect: { baseDelay: 10, maxDelay: 10 } }),
      );
      const reconnecting = nextEvent(bea, 'reconnecting');
      void bea.connect().catch(() => undefined);
      // Before, the client closed for good here, as after "token expired" (no 'reconnecting').
      expect(await reconnecting).toMatchObject({ code: 4001, reason: 'authentication timeout' });
      // Listened for after 'reconnecting': the new attempt needs round trips before it opens.
      await nextEvent(bea, 'open');
      expect(sockets).toBe(2);
      expect(bea.state).toBe('open');
      expect(bea.user).toMatchObject({ user_id: 'bea' });
      expect(await bea.request('echo', 'after')).toMatchObject({ type: 'echo_response', data: 'after' });
    } finally {
      await Promise.all(clients.splice(0).map((client) => client.disconnect()));
      await slow.close();
    }
  });

  it('re-authenticates with a fresh token before the current one expires, on the same connection', async () => {
    const tokens: string[] = [];
    // Two-second tokens: the client refreshes halfway, long before the server would object.
    const ann = track(
      server.client('ann', {
        token: () => {
          tokens.push(server.token('ann', 2));
          return tokens[tokens.length - 1];
        },
      }),
    );
    const authSuccesses: Envelope[] = [];
    ann.on('auth_success', (_data, envelope) => authSuccesses.push(envelope));
    await ann.connect();
    const clientId = ann.connectionInfo!.client_id;
    await until(() => authSuccesses.length === 2, 4000);
    expect(tokens).toHaveLength(2);
    expect(ann.connectionInfo!.client_id).toBe(clientId);
    expect(ann.reconnects).toBe(0);
    expect((await ann.request('echo', 'fresh')).data).toBe('fresh');
  });

  it('asks for the fresh token tokenRefreshMargin before the current one expires', async () => {
    // Four-second tokens and a one-second margin: the refresh is due one second before `exp`
    // (the default 30 s margin would refresh halfway, two seconds before). A busy machine only
    // makes the timer late, never early, so "not before exp - margin" is a safe bound.
    const margin = 1000;
    const expiryOf = (token: string) =>
      (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { exp: number }).exp * 1000;
    const asked: { at: number; expiresAt: number }[] = [];
    let current = '';
    const ann = track(
      server.client('ann', {
        tokenRefreshMargin: margin,
        token: () => {
          const expiresAt = asked.length === 0 ? 0 : expiryOf(current);
          asked.push({ at: Date.now(), expiresAt });
          current = server.token('ann', 4);
          return current;
        },
      }),
    );
    await ann.connect();
    await until(() => asked.length === 2, 8000);
    const refresh = asked[1];
    // Timers may fire a millisecond early; the margin is honoured within that.
    expect(refresh.at).toBeGreaterThanOrEqual(refresh.expiresAt - margin - 5);
    expect(refresh.at).toBeLessThan(refresh.expiresAt);
    expect(ann.reconnects).toBe(0);
  }, 15_000);

  it('queues messages while offline (bounded) and sends them after re-authentication', async () => {
    const ann = track(server.client('ann', { reconnect: { baseDelay: 50, maxDelay: 50 }, offlineQueueSize: 3 }));
    const bob = track(server.client('bob'));
    await Promise.all([ann.connect(), bob.connect()]);
    await ann.join('queue-room');
    await bob.join('queue-room');
    const seen: string[] = [];
    bob.on('chat_message', (message) => seen.push(message.content));

    const reconnecting = nextEvent(ann, 'reconnecting');
    server.dropUser('ann');
    await reconnecting;
    const chats = [ann.chat('queue-room', 'offline 1'), ann.chat('queue-room', 'offline 2')];
    const echo = ann.request('echo', 'queued request');
    expect(ann.queuedMessages).toBe(3);
    await expect(ann.chat('queue-room', 'one too many')).rejects.toThrow(OfflineQueueFullError);

    await nextEvent(ann, 'open');
    await Promise.all(chats);
    expect((await echo).data).toBe('queued request');
    await until(() => seen.length === 2);
    // Sent after auth (else AUTH_REQUIRED) and after the room was restored (else NOT_IN_ROOM).
    expect(seen).toEqual(['offline 1', 'offline 2']);
    expect(ann.queuedMessages).toBe(0);
  });

  it('sends what was asked before connect() once authenticated, and rejects it on disconnect()', async () => {
    const ann = track(server.client('ann'));
    const joined = ann.join('early-room');
    expect(ann.queuedMessages).toBe(1);
    await ann.connect();
    expect(await joined).toMatchObject({ room_id: 'early-room' });

    const idle = track(server.client('idle'));
    const never = idle.request('echo', 1).catch((e: unknown) => e);
    await idle.disconnect();
    expect(await never).toBeInstanceOf(ClientClosedError);
    expect(idle.state).toBe('closed');
  });

  it('resumes after the server drops the connection: every room message once, in order', async () => {
    const ann = track(server.client('ann', { reconnect: { baseDelay: 30, maxDelay: 100 } }));
    const bob = track(server.client('bob'));
    await Promise.all([ann.connect(), bob.connect()]);
    await ann.join('resume-room');
    await bob.join('resume-room');
    const received: Envelope<ChatMessageData>[] = [];
    ann.on('chat_message', (_data, envelope) => received.push(envelope));
    const failures: unknown[] = [];
    ann.onEvent('resume_failed', (event) => failures.push(event));

    const total = 60;
    let sent = 0;
    const sendSome = async (n: number) => {
      for (let i = 0; i < n; i++) {
        bob.chat('resume-room', `m${++sent}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    await sendSome(10);
    await until(() => received.length >= 5);
    const reopened = nextEvent(ann, 'open');
    server.dropUser('ann'); // mid-stream: some frames are in flight, more come while ann is away
    await sendSome(30);
    await reopened;
    await sendSome(total - 40);

    // A last message after all the others: once it is in, any duplicate sent before it is in too.
    await bob.chat('resume-room', 'marker');
    await until(() => received.some((frame) => frame.data!.content === 'marker'), 5000);
    expect(received.map((frame) => frame.data!.content)).toEqual([
      ...Array.from({ length: total }, (_, i) => `m${i + 1}`),
      'marker',
    ]);
    const seqs = received.map((frame) => frame.seq!);
    seqs.slice(1).forEach((seq, i) => expect(seq).toBe(seqs[i] + 1));
    expect(failures).toEqual([]);
    expect(ann.reconnects).toBe(1);
  });
});

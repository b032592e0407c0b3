import { afterEach, describe, expect, it } from '@jest/globals';
import { WebSocket } from 'ws';
import {
  MalformedFrameError,
  RealtimeClient,
  type RealtimeClientOptions,
  type ResumeFailedData,
} from '../../lib/client/index.js';
import { until } from '../support/until.js';
import { FakeServer } from './fake-server.js';
import { nextEvent } from './sample-server.js';

/** What the real server never sends, from a scripted one: the client must cope anyway. */
/** How long each attempt of `client` lasted before it was given up for `reason`, in order. */
function waitsBeforeGivingUp(client: RealtimeClient, reason: string): number[] {
  const waited: number[] = [];
  let attemptAt = 0;
  client.onEvent('connecting', () => (attemptAt = Date.now()));
  client.onEvent('reconnecting', (event) => {
    if (event.reason === reason) waited.push(Date.now() - attemptAt);
  });
  return waited;
}

describe('RealtimeClient against a misbehaving server', () => {
  let fake: FakeServer | undefined;
  let client: RealtimeClient | undefined;
  afterEach(async () => {
    await client?.disconnect();
    await fake?.close();
    client = fake = undefined;
  });

  const connect = async (options: Partial<RealtimeClientOptions> = {}) => {
    client = new RealtimeClient({ url: fake!.url, WebSocket, heartbeat: false, reconnect: false, ...options });
    await client.connect();
    return client;
  };

  it('ignores malformed frames (reported as errors) and keeps delivering good ones', async () => {
    fake = await FakeServer.start((socket) => {
      FakeServer.connected(socket);
      socket.on('message', () => {
        for (const bad of ['not json', '[1,2]', 'null', '{"type":5}', '{"data":{}}']) socket.send(bad);
        socket.send(Buffer.from([1, 2, 3]), { binary: true });
        socket.send(JSON.stringify({ type: 'room_joined', data: 'not an object' }));
        socket.send(JSON.stringify({ type: 'chat_message', room: 'r', seq: 'x', epoch: 3, data: null }));
        socket.send(JSON.stringify({ type: 'resume_failed', data: { room_id: 42 } }));
        socket.send(JSON.stringify({ type: 'after', data: 'ok' }));
      });
    });
    await connect();
    const errors: Error[] = [];
    client!.onEvent('error', ({ error }) => errors.push(error));
    const after: unknown[] = [];
    client!.on('after', (data) => after.push(data));
    const chats: unknown[] = [];
    client!.on('chat_message', (data) => chats.push(data));
    client!.send('go');
    await until(() => after.length === 1);
    expect(after).toEqual(['ok']);
    expect(chats).toEqual([null]); // delivered as-is: a frame without a valid seq is not a room frame
    expect(errors).toHaveLength(6);
    errors.forEach((error) => expect(error).toBeInstanceOf(MalformedFrameError));
    expect(client!.state).toBe('open');
  });

  it('drops room frames at or below the last seq of the epoch, and reports a new epoch', async () => {
    const frame = (seq: number, epoch: string) =>
      JSON.stringify({
        type: 'chat_message',
        room: 'r',
        seq,
        epoch,
        data: { room_id: 'r', content: `${epoch}:${seq}` },
      });
    fake = await FakeServer.start((socket) => {
      FakeServer.connected(socket);
      socket.on('message', () => {
        socket.send(
          JSON.stringify({ type: 'room_joined', data: { room_id: 'r', client_count: 1, seq: 4, epoch: 'e1' } }),
        );
        for (const [seq, epoch] of [
          [3, 'e1'],
          [4, 'e1'],
          [5, 'e1'],
          [5, 'e1'],
          [6, 'e1'],
          [2, 'e1'],
          [1, 'e2'],
          [1, 'e2'],
          [2, 'e2'],
        ] as const)
          socket.send(frame(seq, epoch));
        socket.send(JSON.stringify({ type: 'done' }));
      });
    });
    await connect();
    const contents: string[] = [];
    client!.on('chat_message', (data) => contents.push(data.content));
    const failures: ResumeFailedData[] = [];
    client!.onEvent('resume_failed', (event) => failures.push(event));
    const done = new Promise((resolve) => client!.on('done', resolve));
    client!.send('go');
    await done;
    expect(contents).toEqual(['e1:5', 'e1:6', 'e2:1', 'e2:2']);
    expect(failures).toEqual([{ room_id: 'r', reason: 'epoch_changed', epoch: 'e2' }]);
    expect(client!.joinedRooms).toEqual(['r']);
  });

  it('detects a silent server with app-level ping/pong and gives up on the socket', async () => {
    const received: string[] = [];
    fake = await FakeServer.start((socket) => {
      FakeServer.connected(socket);
      socket.on('message', (data) => received.push(String(data))); // never answers
    });
    await connect({ heartbeat: { interval: 50, timeout: 100 } });
    const closed = await nextEvent(client!, 'closed', 3000);
    expect(closed).toEqual({ code: 1006, reason: 'heartbeat timeout' });
    expect(received).toContain('{"type":"ping"}');
  });

  it('keeps a connection whose server answers the pings', async () => {
    fake = await FakeServer.start((socket) => {
      FakeServer.connected(socket);
      socket.on('message', (data) => {
        if (JSON.parse(String(data)).type === 'ping') socket.send('{"type":"pong"}');
      });
    });
    // A generous timeout: this test is about pings going out and the connection staying, not speed.
    await connect({ heartbeat: { interval: 30, timeout: 2000 } });
    let pongs = 0;
    client!.on('pong', () => pongs++);
    await until(() => pongs >= 4, 3000);
    expect(client!.state).toBe('open');
  });

  it('gives up on a connection attempt that never gets `connected`, and retries', async () => {
    fake = await FakeServer.start(() => undefined); // accepts the upgrade, then says nothing
    client = new RealtimeClient({
      url: fake.url,
      WebSocket,
      heartbeat: false,
      connectTimeout: 100,
      reconnect: { baseDelay: 10, maxDelay: 10, maxAttempts: 1 },
    });
    const reconnecting = nextEvent(client, 'reconnecting');
    const connecting = client.connect().catch((error: Error) => error);
    expect(await reconnecting).toMatchObject({ attempt: 1, code: 1006, reason: 'connect timeout' });
    expect(await connecting).toBeInstanceOf(Error); // the one retry timed out too: closed
    expect(fake.sockets).toHaveLength(2);
    expect(client.state).toBe('closed');
  });

  it('waits twice as long after each attempt that timed out (up to 8 × connectTimeout), and starts over once connected', async () => {
    // Silent for the first four attempts and the sixth; the fifth gets `connected`, then drops.
    fake = await FakeServer.start((socket, index) => {
      if (index !== 4) return;
      FakeServer.connected(socket);
      setTimeout(() => socket.close(1011, 'bye'), 20);
    });
    client = new RealtimeClient({
      url: fake.url,
      WebSocket,
      heartbeat: false,
      connectTimeout: 100,
      reconnect: { baseDelay: 1, maxDelay: 1 },
    });
    const waited = waitsBeforeGivingUp(client, 'connect timeout');
    void client.connect().catch(() => undefined);
    await until(() => waited.length >= 5, 10_000);
    // Timers never fire early: the lower bounds are exact. 100, 200, 400, 800, then 800 again.
    expect(waited[0]).toBeGreaterThanOrEqual(100);
    expect(waited[1]).toBeGreaterThanOrEqual(200);
    expect(waited[2]).toBeGreaterThanOrEqual(400);
    expect(waited[3]).toBeGreaterThanOrEqual(800);
    // The fifth attempt got `connected`: the sixth is back to connectTimeout.
    expect(waited[4]).toBeLessThan(400);
    expect(fake.sockets.length).toBeGreaterThanOrEqual(6);
  });

  it('gives the handshake of the next attempt twice as long after one whose auth went unanswered', async () => {
    fake = await FakeServer.start((socket) => FakeServer.connected(socket)); // never answers auth
    client = new RealtimeClient({
      url: fake.url,
      WebSocket,
      token: 'a-token',
      heartbeat: false,
      requestTimeout: 100,
      reconnect: { baseDelay: 1, maxDelay: 1 },
    });
    const waited = waitsBeforeGivingUp(client, 'handshake failed');
    void client.connect().catch(() => undefined);
    await until(() => waited.length >= 3, 10_000);
    expect(waited[0]).toBeGreaterThanOrEqual(100);
    expect(waited[1]).toBeGreaterThanOrEqual(200);
    expect(waited[2]).toBeGreaterThanOrEqual(400);
  });

  it('backs off from a node that drains every connection before it is open, instead of looping', async () => {
    fake = await FakeServer.start((socket) => socket.close(1012, 'service restart'));
    client = new RealtimeClient({
      url: fake.url,
      WebSocket,
      heartbeat: false,
      random: () => 0.999999,
      reconnect: { baseDelay: 20, maxDelay: 40, maxAttempts: 3 },
    });
    const delays: number[] = [];
    client.onEvent('reconnecting', ({ delay, code }) => delays.push(code === 1012 ? delay : -1));
    await expect(client.connect()).rejects.toThrow(/connection closed \(1012/);
    expect(delays).toEqual([19, 39, 39]);
  });

  it('stops when the server refuses the token instead of retrying it forever', async () => {
    fake = await FakeServer.start((socket) => {
      FakeServer.connected(socket);
      socket.on('message', (data) => {
        const message = JSON.parse(String(data));
        socket.send(
          JSON.stringify({ type: 'auth_error', id: message.id, data: { code: 'AUTH_FAILED', message: 'nope' } }),
        );
      });
    });
    client = new RealtimeClient({ url: fake.url, WebSocket, heartbeat: false, token: 'bad' });
    const errors: Error[] = [];
    client.onEvent('error', ({ error }) => errors.push(error));
    await expect(client.connect()).rejects.toThrow(/authentication failed/);
    expect(client.state).toBe('closed');
    expect(errors.map((e) => e.name)).toEqual(['AuthenticationError']);
    expect(fake.sockets).toHaveLength(1);
  });
});

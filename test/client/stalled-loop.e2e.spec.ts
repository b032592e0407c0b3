import { afterEach, describe, expect, it } from '@jest/globals';
import { type WebSocket as ServerSocket, WebSocket } from 'ws';
import { RealtimeClient, type RealtimeClientOptions, RequestTimeoutError } from '../../lib/client/index.js';
import { until } from '../support/until.js';
import { FakeServer } from './fake-server.js';
import { nextEvent } from './sample-server.js';

/** Blocks the event loop, as a long GC pause or a burst of work does. */
function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy
  }
}

/** Longer than every deadline below (200 ms): a deadline judged right after it has passed. */
const STALL_MS = 600;

/**
 * The client's own event loop stalls while the server's answer arrives. The fake server shares
 * the test's process, so it answers first and then stalls the process: the answer is in the
 * client socket's receive buffer, unread, when the loop wakes up — and Node runs the (late)
 * timers before it reads sockets. The client must read the answer before judging its deadline;
 * a silent server must still be detected.
 */
describe('RealtimeClient deadlines across a stall of its own event loop', () => {
  let fake: FakeServer | undefined;
  let client: RealtimeClient | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  afterEach(async () => {
    clearInterval(ticker);
    await client?.disconnect();
    await fake?.close();
    client = fake = ticker = undefined;
  });

  /** A client and the socket-level events that would show it gave up on a socket. */
  const start = (options: Partial<RealtimeClientOptions>) => {
    const c = new RealtimeClient({
      url: fake!.url,
      WebSocket,
      heartbeat: false,
      reconnect: { baseDelay: 10, maxDelay: 10 },
      ...options,
    });
    const gaveUp: string[] = [];
    c.onEvent('reconnecting', ({ reason }) => gaveUp.push(`reconnecting: ${reason}`));
    c.onEvent('closed', ({ reason }) => gaveUp.push(`closed: ${reason}`));
    client = c;
    return { client: c, gaveUp };
  };

  /** Answers each request with `reply(type)` (and a pong to a ping), then calls `after`. */
  const answering = (after: (type: string) => void, reply = (type: string) => `${type}_reply`) =>
    FakeServer.start((socket: ServerSocket) => {
      FakeServer.connected(socket);
      socket.on('message', (raw) => {
        const { type, id } = JSON.parse(String(raw)) as { type: string; id?: string };
        const data = type === 'auth' ? { user_id: 'u1', username: 'ann', roles: [] } : {};
        socket.send(JSON.stringify({ type: type === 'ping' ? 'pong' : reply(type), id, data }));
        after(type);
      });
    });

  it('keeps a connection whose pong arrived during the stall (heartbeat)', async () => {
    let stalled = false;
    fake = await answering((type) => {
      if (type === 'ping' && !stalled) {
        stalled = true;
        stall(STALL_MS);
      }
    });
    const { client, gaveUp } = start({ heartbeat: { interval: 50, timeout: 200 } });
    await client.connect();
    let pongs = 0;
    client.on('pong', () => pongs++);
    await until(() => pongs >= 3, 5000);
    expect(stalled).toBe(true);
    expect(gaveUp).toEqual([]);
    expect(client.state).toBe('open');
    expect(fake.sockets).toHaveLength(1);
  });

  it('resolves a request whose reply arrived during the stall', async () => {
    fake = await answering((type) => {
      if (type === 'echo') stall(STALL_MS);
    });
    const { client, gaveUp } = start({ requestTimeout: 200 });
    await client.connect();
    const reply = await client.request('echo', { text: 'hi' });
    expect(reply.type).toBe('echo_reply');
    expect(gaveUp).toEqual([]);
  });

  it('completes a handshake whose auth reply arrived during the stall', async () => {
    let stalled = false;
    fake = await answering(
      (type) => {
        if (type === 'auth' && !stalled) {
          stalled = true;
          stall(STALL_MS);
        }
      },
      (type) => (type === 'auth' ? 'auth_success' : `${type}_reply`),
    );
    const { client, gaveUp } = start({ requestTimeout: 200, token: 't' });
    await client.connect();
    expect(client.user?.user_id).toBe('u1');
    expect(gaveUp).toEqual([]);
    expect(fake.sockets).toHaveLength(1);
  });

  it('keeps a connection attempt whose `connected` arrived during the stall', async () => {
    fake = await FakeServer.start((socket, index) => {
      FakeServer.connected(socket);
      if (index === 0) stall(STALL_MS);
    });
    const { client, gaveUp } = start({ connectTimeout: 200 });
    await client.connect();
    expect(gaveUp).toEqual([]);
    expect(fake.sockets).toHaveLength(1);
  });

  it('still detects a silent server when the stall hides nothing', async () => {
    fake = await FakeServer.start((socket) => {
      FakeServer.connected(socket);
      socket.on('message', () => stall(STALL_MS)); // never answers
    });
    const { client } = start({ heartbeat: { interval: 50, timeout: 200 }, reconnect: false });
    await client.connect();
    const closed = await nextEvent(client, 'closed', 5000);
    expect(closed).toEqual({ code: 1006, reason: 'heartbeat timeout' });
  });

  it('still times out an unanswered request and detects a silent server in a loop that keeps stalling', async () => {
    fake = await FakeServer.start((socket) => FakeServer.connected(socket)); // never answers
    const { client } = start({ heartbeat: { interval: 50, timeout: 200 }, reconnect: false, requestTimeout: 200 });
    await client.connect();
    // Every timer from now on runs late (as in a throttled background tab): a deadline that waited
    // for an on-time check would never fire.
    ticker = setInterval(() => stall(100), 20);
    const startedAt = Date.now();
    await expect(client.request('echo')).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(Date.now() - startedAt).toBeLessThan(2000);
    const closed = await nextEvent(client, 'closed', 5000);
    expect(closed).toEqual({ code: 1006, reason: 'heartbeat timeout' });
  });
});

import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { DrainDelay } from '../../lib/client/drain-delay.js';
import { RealtimeClient, type RealtimeClientOptions, type WebSocketLike } from '../../lib/client/index.js';

describe('DrainDelay', () => {
  it('is uniform in [minDelay, maxDelay], both ends included, 1–5 s by default', () => {
    const at = (value: number, options?: ConstructorParameters<typeof DrainDelay>[0]) =>
      new DrainDelay(options, () => value).next();
    expect([0, 0.5, 0.999999].map((value) => at(value))).toEqual([1000, 3000, 5000]);
    expect([0, 0.5, 0.999999].map((value) => at(value, { minDelay: 100, maxDelay: 200 }))).toEqual([100, 150, 200]);
    expect(at(0.999999, { minDelay: 0, maxDelay: 0 })).toBe(0);
    expect(at(0.999999, { maxDelay: 500 })).toBe(500); // minDelay moves out of the way: [0, 500]
    expect(at(0, { maxDelay: 500 })).toBe(0);
    expect(at(0.999999, { minDelay: 8000 })).toBe(8000); // and maxDelay too
  });

  it('refuses contradictory bounds', () => {
    expect(() => new DrainDelay({ minDelay: 10, maxDelay: 5 })).toThrow(/0 <= minDelay <= maxDelay/);
    expect(() => new DrainDelay({ minDelay: -1 })).toThrow(RangeError);
    expect(() => new DrainDelay({ maxDelay: Infinity })).toThrow(RangeError);
  });
});

/** A scripted socket: the test opens it, sends it frames and closes it with a code. */
class ScriptedSocket implements WebSocketLike {
  static all: ScriptedSocket[] = [];
  readyState = 0;
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;
  readonly sent: { type: string; id?: string }[] = [];

  constructor(readonly url: string) {
    ScriptedSocket.all.push(this);
  }

  /** Opens and says `connected`; the client is `open` at once (no token, no rooms). */
  accept(): void {
    this.readyState = 1;
    this.onopen?.({} as never);
    this.deliver({ type: 'connected', data: { client_id: 'c', session_id: 's', node_id: 'n', heartbeat_ms: 0 } });
  }

  deliver(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) } as never);
  }

  send(text: string): void {
    this.sent.push(JSON.parse(text));
  }

  close(code = 1005, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason } as never);
  }
}

describe('RealtimeClient: reconnect after 1012 (drain) spread over the drain window', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 0 });
    ScriptedSocket.all = [];
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  /** A client that has been open for `upFor` ms on its first socket. */
  async function openClient(options: Partial<RealtimeClientOptions> = {}, upFor = 10_000) {
    const delays: { delay: number; code: number }[] = [];
    const client = new RealtimeClient({
      url: 'ws://node',
      WebSocket: ScriptedSocket,
      heartbeat: false,
      reconnect: { baseDelay: 100, maxDelay: 100 },
      ...options,
    });
    client.onEvent('reconnecting', ({ delay, code }) => delays.push({ delay, code }));
    const connected = client.connect();
    ScriptedSocket.all[ScriptedSocket.all.length - 1].accept();
    await connected;
    jest.advanceTimersByTime(upFor);
    return { client, delays };
  }

  it('waits minDelay + random · (maxDelay − minDelay) after a 1012, then opens a socket', async () => {
    const { client, delays } = await openClient({ random: () => 0.5 });
    ScriptedSocket.all[0].close(1012, 'service restart');
    expect(delays).toEqual([{ delay: 3000, code: 1012 }]);
    jest.advanceTimersByTime(2999);
    expect(ScriptedSocket.all).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(ScriptedSocket.all).toHaveLength(2);
    await client.disconnect();
  });

  it('a thousand drained clients are spread over the whole window, not bunched at its start', async () => {
    let seed = 1;
    // A small deterministic generator (Park–Miller), for a reproducible spread.
    const random = () => ((seed = (seed * 48271) % 2147483647) - 1) / 2147483646;
    const clients: RealtimeClient[] = [];
    const delays: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const opened = await openClient({ random }, 0);
      clients.push(opened.client);
      opened.client.onEvent('reconnecting', ({ delay }) => delays.push(delay));
    }
    jest.advanceTimersByTime(10_000);
    for (const socket of ScriptedSocket.all.slice()) socket.close(1012, 'service restart');
    expect(delays).toHaveLength(1000);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(5000);
    // Each second of the window gets about a quarter of them.
    const perSecond = [1, 2, 3, 4].map((s) => delays.filter((d) => d >= s * 1000 && d < (s + 1) * 1000).length);
    for (const count of perSecond) expect(count).toBeGreaterThan(200);
    jest.advanceTimersByTime(999);
    expect(ScriptedSocket.all).toHaveLength(1000); // nobody reconnected within the first second
    jest.advanceTimersByTime(4001);
    expect(ScriptedSocket.all).toHaveLength(2000);
    await Promise.all(clients.map((client) => client.disconnect()));
  });

  it('other close codes, and a 1012 of a connection that did not stay up, keep the backoff', async () => {
    const { client, delays } = await openClient({ random: () => 0.5, stableConnectionTime: 5000 });
    ScriptedSocket.all[0].close(1006, '');
    jest.advanceTimersByTime(50);
    ScriptedSocket.all[1].accept();
    jest.advanceTimersByTime(10); // open for 10 ms: not a working connection
    ScriptedSocket.all[1].close(1012, 'service restart');
    expect(delays).toEqual([
      { delay: 50, code: 1006 },
      { delay: 50, code: 1012 },
    ]);
    await client.disconnect();
  });

  it('{ minDelay: 0, maxDelay: 0 } reconnects at once, as before', async () => {
    const { client, delays } = await openClient({ random: () => 0.7, drainReconnect: { minDelay: 0, maxDelay: 0 } });
    ScriptedSocket.all[0].close(1012, 'service restart');
    expect(delays).toEqual([{ delay: 0, code: 1012 }]);
    await client.disconnect();
  });
});

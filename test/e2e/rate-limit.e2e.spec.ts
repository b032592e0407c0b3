import { afterEach, describe, expect, it } from '@jest/globals';
import { RealtimeStats } from '../../lib/stats/realtime-stats.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

async function collect(client: TestClient, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (client.frames.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${client.frames.length} of ${count} frames`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The text of an `echo` frame of exactly `size` bytes (ASCII padding in `data`). */
function echoOfSize(id: string, size: number): string {
  const empty = JSON.stringify({ type: 'echo', id, data: '' });
  const text = JSON.stringify({ type: 'echo', id, data: 'x'.repeat(size - empty.length) });
  expect(Buffer.byteLength(text)).toBe(size);
  return text;
}

describe('rate limiting (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('answers a 5 000-message flood with RATE_LIMITED beyond the bucket while another client is fully served', async () => {
    t = await createTestApp({ rateLimit: { messagesPerSecond: 100, burst: 200, disconnectAfter: 0 } });
    const flooder = await TestClient.connect(t.url);
    const neighbour = await TestClient.connect(t.url);
    await Promise.all([flooder.next('connected'), neighbour.next('connected')]);
    const started = Date.now();
    for (let i = 0; i < 5000; i++) flooder.send({ type: 'echo', id: `f${i}`, data: i });
    for (let i = 0; i < 100; i++) neighbour.send({ type: 'echo', id: `n${i}`, data: i });
    await collect(flooder, 5001);
    await collect(neighbour, 101);
    const elapsedSeconds = (Date.now() - started) / 1000;

    const floodReplies = flooder.frames.slice(1);
    const handled = floodReplies.filter((f) => f.type === 'echo_response');
    const limited = floodReplies.filter((f) => f.type === 'error');
    expect(handled.length + limited.length).toBe(5000);
    expect(limited.every((f) => f.data.code === 'RATE_LIMITED' && f.data.message === 'too many messages')).toBe(true);
    expect(handled.length).toBeGreaterThanOrEqual(200);
    expect(handled.length).toBeLessThanOrEqual(200 + Math.ceil(100 * elapsedSeconds) + 1);
    expect(t.app.get(RealtimeStats).rateLimited).toBe(limited.length);

    const served = neighbour.frames.slice(1);
    expect(served.map((f) => f.id)).toEqual(Array.from({ length: 100 }, (_, i) => `n${i}`));
    expect(served.every((f) => f.type === 'echo_response')).toBe(true);
  });

  it('closes a connection with 1008 after disconnectAfter refusals in a row', async () => {
    t = await createTestApp({ rateLimit: { messagesPerSecond: 10, burst: 5, disconnectAfter: 20 } });
    const flooder = await TestClient.connect(t.url);
    await flooder.next('connected');
    for (let i = 0; i < 200; i++) flooder.send({ type: 'echo', id: `f${i}` });
    expect(await flooder.closed).toEqual({ code: 1008, reason: 'rate limit exceeded' });
    const replies = flooder.frames.slice(1);
    expect(replies.filter((f) => f.type === 'echo_response').length).toBeGreaterThanOrEqual(5);
    expect(replies.filter((f) => f.type === 'error')).toHaveLength(19);
  });

  it('refills the bucket over time', async () => {
    t = await createTestApp({ rateLimit: { messagesPerSecond: 50, burst: 2, disconnectAfter: 0 } });
    const client = await TestClient.connect(t.url);
    await client.next('connected');
    for (let i = 0; i < 3; i++) client.send({ type: 'echo', id: `a${i}` });
    await collect(client, 4);
    expect(client.frames.slice(1).map((f) => f.type)).toEqual(['echo_response', 'echo_response', 'error']);
    await new Promise((resolve) => setTimeout(resolve, 100)); // 50/s: 5 tokens, capped at 2
    for (let i = 0; i < 3; i++) client.send({ type: 'echo', id: `b${i}` });
    await collect(client, 7);
    expect(client.frames.slice(4).map((f) => f.type)).toEqual(['echo_response', 'echo_response', 'error']);
    await client.close();
  });

  it('limits bytes per second: large frames beyond the byte burst get RATE_LIMITED unparsed, a neighbour is served', async () => {
    // 1 000 bytes/s: the refill over the test's duration is far below one 99 000-byte frame.
    t = await createTestApp({
      maxMessageSize: 100_000,
      rateLimit: { messagesPerSecond: 1000, burst: 1000, bytesPerSecond: 1000, byteBurst: 250_000, disconnectAfter: 0 },
    });
    const flooder = await TestClient.connect(t.url);
    const neighbour = await TestClient.connect(t.url);
    await Promise.all([flooder.next('connected'), neighbour.next('connected')]);
    for (let i = 0; i < 10; i++) flooder.sendRaw(echoOfSize(`big${i}`, 99_000));
    for (let i = 0; i < 20; i++) neighbour.send({ type: 'echo', id: `n${i}`, data: i });
    await collect(flooder, 11);
    await collect(neighbour, 21);

    const replies = flooder.frames.slice(1);
    expect(replies.map((f) => [f.type, f.id])).toEqual([
      ['echo_response', 'big0'],
      ['echo_response', 'big1'],
      ...Array.from({ length: 8 }, () => ['error', undefined]),
    ]);
    expect(replies.slice(2).every((f) => f.data.code === 'RATE_LIMITED' && f.data.message === 'too many bytes')).toBe(
      true,
    );
    expect(t.app.get(RealtimeStats).rateLimited).toBe(8);
    expect(neighbour.frames.slice(1).map((f) => f.id)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
    expect(flooder.socket.readyState).toBe(1);
  });

  it('closes with 1008 only after disconnectAfter refusals in a row: an accepted frame in between starts the count again', async () => {
    // Byte refusals make the sequence independent of timing: the byte bucket (1 000 bytes,
    // refilled at 1 byte/s) takes one 900-byte frame, then only small ones.
    t = await createTestApp({
      maxMessageSize: 1000,
      rateLimit: { messagesPerSecond: 1000, burst: 1000, bytesPerSecond: 1, byteBurst: 1000, disconnectAfter: 3 },
    });
    const client = await TestClient.connect(t.url);
    await client.next('connected');
    const big = (id: string) => echoOfSize(id, 900);
    const small = (id: string) => echoOfSize(id, 45);
    const sequence = [big('b0'), big('r1'), big('r2'), small('s0'), big('r3'), big('r4'), small('s1')];
    for (const frame of [...sequence, big('r5'), big('r6'), big('r7'), small('after')]) client.sendRaw(frame);

    expect(await client.closed).toEqual({ code: 1008, reason: 'rate limit exceeded' });
    expect(client.frames.slice(1).map((f) => (f.type === 'error' ? f.data.code : f.id))).toEqual([
      'b0',
      'RATE_LIMITED',
      'RATE_LIMITED',
      's0',
      'RATE_LIMITED',
      'RATE_LIMITED',
      's1',
      'RATE_LIMITED',
      'RATE_LIMITED',
    ]);
  });

  it('refuses a message while less than a whole one has refilled', async () => {
    t = await createTestApp({ rateLimit: { messagesPerSecond: 1, burst: 1, disconnectAfter: 0 } });
    const client = await TestClient.connect(t.url);
    await client.next('connected');
    expect((await client.request({ type: 'echo', id: 'first' })).type).toBe('echo_response');
    // A few milliseconds later (well below the second a message takes to refill) the bucket holds
    // a fraction of a message: refused.
    const answered = Date.now();
    await until(() => Date.now() >= answered + 5);
    client.send({ type: 'echo', id: 'second' });
    // A refused frame is not parsed: its error carries no id.
    const second = await client.next();
    expect([second.type, second.data]).toEqual(['error', { code: 'RATE_LIMITED', message: 'too many messages' }]);
    await client.close();
  });

  it('can be switched off', async () => {
    t = await createTestApp({ rateLimit: false });
    const client = await TestClient.connect(t.url);
    await client.next('connected');
    for (let i = 0; i < 1000; i++) client.send({ type: 'echo', id: `x${i}` });
    await collect(client, 1001);
    expect(client.frames.slice(1).every((f) => f.type === 'echo_response')).toBe(true);
    await client.close();
  });
});

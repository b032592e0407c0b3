import { afterEach, describe, expect, it } from '@jest/globals';
import { RealtimeStats } from '../../lib/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';

async function collect(client: TestClient, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (client.frames.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${client.frames.length} of ${count} frames`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
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

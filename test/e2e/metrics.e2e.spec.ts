import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConnectionManager, RoomManager } from '../../lib/index.js';
import { AppModule } from '../../sample/app.module.js';
import { loadSampleConfig } from '../../sample/sample.config.js';
import { FrameTap } from '../support/frame-tap.js';
import { createTestApp } from '../support/test-app.js';
import { TestClient, upgradeStatus } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';

const SECRET = 'metrics-e2e-secret-0123456789abcdef';

/** Reads one sample of a metric (with exactly these labels) from Prometheus text. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const got = (match[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (got === wanted) return Number(match[3]);
  }
  return undefined;
}

describe('metrics (e2e)', () => {
  let app: INestApplication;
  let http: string;
  let url: string;

  beforeAll(async () => {
    const config = loadSampleConfig({ JWT_SECRET: SECRET, LOG_LEVEL: 'error' });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address();
    http = `http://127.0.0.1:${port}`;
    url = `ws://127.0.0.1:${port}/ws`;
  });
  afterAll(() => app.close());

  const scrape = async (): Promise<string> => {
    const response = await fetch(`${http}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  };

  it('counts a scripted session exactly', async () => {
    const client = await TestClient.connect(`${url}?token=${hsToken({ user_id: 'm1' }, SECRET)}`);
    await client.next('auth_success');
    await client.request({ type: 'join_room', id: 'j', data: { room_id: 'lobby' } });
    client.send({ type: 'chat', data: { room_id: 'lobby', content: 'hi' } });
    await client.next('chat_message');
    client.sendRaw('not json');
    await client.next('error');
    await client.request({ type: 'nope', id: 'u' });
    await client.request({ type: 'chat', id: 'c', data: { room_id: 'elsewhere', content: 'x' } });

    const during = await scrape();
    expect(sample(during, 'websocket_active_connections')).toBe(1);
    expect(sample(during, 'websocket_active_rooms')).toBe(1);
    expect(app.get(ConnectionManager).stats()).toMatchObject({ active_connections: 1, active_rooms: 1 });

    client.socket.close(1000);
    await client.closed;
    const manager = app.get(ConnectionManager);
    while (manager.count > 0) await new Promise((resolve) => setTimeout(resolve, 10));

    const text = await scrape();
    expect(sample(text, 'websocket_total_connections')).toBe(1);
    expect(sample(text, 'websocket_active_connections')).toBe(0);
    expect(sample(text, 'websocket_active_rooms')).toBe(0);
    expect(sample(text, 'websocket_messages_received_total', { type: 'join_room' })).toBe(1);
    expect(sample(text, 'websocket_messages_received_total', { type: 'chat' })).toBe(2);
    expect(sample(text, 'websocket_messages_received_total', { type: 'invalid' })).toBe(1);
    expect(sample(text, 'websocket_messages_received_total', { type: 'unknown' })).toBe(1);
    // connected, auth_success, room_joined, chat_message, 3 errors
    expect(sample(text, 'websocket_messages_sent_total')).toBe(7);
    expect(sample(text, 'websocket_message_errors_total', { type: 'invalid', code: 'BAD_MESSAGE' })).toBe(1);
    expect(sample(text, 'websocket_message_errors_total', { type: 'unknown', code: 'UNKNOWN_TYPE' })).toBe(1);
    expect(sample(text, 'websocket_message_errors_total', { type: 'chat', code: 'NOT_IN_ROOM' })).toBe(1);
    expect(sample(text, 'websocket_room_operations_total', { operation: 'join', result: 'success' })).toBe(1);
    expect(sample(text, 'websocket_closes_total', { code: '1000' })).toBe(1);
    // Three messages reached a handler (join_room and both chats).
    expect(sample(text, 'websocket_message_latency_seconds_count')).toBe(3);
    expect(sample(text, 'websocket_message_latency_seconds_bucket', { le: '5' })).toBe(3);
    expect(sample(text, 'websocket_connection_errors_total', { reason: 'unauthorized' })).toBeUndefined();
    expect(app.get(RoomManager).stats()).toMatchObject({
      total_connections: 1,
      messages_sent: 7,
      messages_received: 5,
    });
  });

  it("is PrometheusModule's own /metrics: Node's default process metrics next to the module's", async () => {
    expect(app.get(PrometheusController, { strict: false })).toBeInstanceOf(PrometheusController);
    const text = await scrape();
    expect(sample(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).toContain('# TYPE websocket_active_connections gauge');
    expect(text).toContain('# TYPE websocket_message_latency_seconds histogram');
    expect(sample(text, 'websocket_total_connections')).toBeGreaterThanOrEqual(0);
  });

  it('serves the default metrics once when a second sample app starts in the same process', async () => {
    const config = loadSampleConfig({ JWT_SECRET: SECRET, LOG_LEVEL: 'error' });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
    const second = moduleRef.createNestApplication({ logger: false });
    await second.listen(0, '127.0.0.1');
    try {
      const { port } = second.getHttpServer().address();
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text.match(/^# TYPE process_cpu_seconds_total /gm)).toHaveLength(1);
      expect(text).toContain('# TYPE websocket_active_connections gauge');
    } finally {
      await second.close();
    }
  });

  it('counts refused upgrades by reason', async () => {
    expect(await upgradeStatus(`${url}?token=bad`)).toBe(401);
    expect(await upgradeStatus(`${url}?token=${hsToken({ user_id: 'x' }, 'wrong')}`)).toBe(401);
    const text = await scrape();
    expect(sample(text, 'websocket_connection_errors_total', { reason: 'unauthorized' })).toBe(2);
  });

  it('lets a second app start in the same process without a registration error, summing both', async () => {
    const before = await scrape();
    const total = sample(before, 'websocket_total_connections') ?? 0;
    const active = sample(before, 'websocket_active_connections') ?? 0;
    const other = await createTestApp({ rateLimit: false });
    try {
      const client = await TestClient.connect(other.url);
      await client.next('connected');
      const text = await scrape();
      // Both apps' counters, summed: one more connection, on the second app.
      expect(sample(text, 'websocket_total_connections')).toBe(total + 1);
      expect(sample(text, 'websocket_active_connections')).toBe(active + 1);
      await client.close();
    } finally {
      await other.close();
    }
    const after = await scrape();
    expect(sample(after, 'websocket_total_connections')).toBe(total);
  });

  it('counts no cluster traffic on a single node, while its room, presence, user and node-wide frames are delivered', async () => {
    const [ann, bob] = await Promise.all(
      ['ann', 'bob'].map(async (user) => {
        const client = await TestClient.connect(`${url}?token=${hsToken({ user_id: user }, SECRET)}`);
        await client.next('auth_success');
        return client;
      }),
    );
    await ann.request({ type: 'join_room', id: 'j1', data: { room_id: 'solo' } });
    await bob.request({ type: 'join_room', id: 'j2', data: { room_id: 'solo' } });
    expect(await ann.next('presence_diff')).toMatchObject({ data: { joins: [{ user_id: 'bob' }] } });
    bob.send({ type: 'chat', data: { room_id: 'solo', content: 'hi' } });
    expect(await ann.next('chat_message')).toMatchObject({ room: 'solo', seq: 1, data: { content: 'hi' } });
    const rooms = app.get(RoomManager);
    expect(await rooms.broadcast('solo', 'notice', { n: 1 })).toMatchObject({ seq: 2, delivered: 2 });
    expect(await bob.next('notice')).toMatchObject({ seq: 2 });
    expect(rooms.sendToUser('ann', 'dm', { text: 'psst' })).toBe(1);
    expect(await ann.next('dm')).toMatchObject({ data: { text: 'psst' } });
    expect(rooms.sendToAll('news', { text: 'all' })).toBe(2);
    await Promise.all([ann.next('news'), bob.next('news')]);
    await bob.close();
    expect(await ann.next('presence_diff')).toMatchObject({ data: { leaves: [{ user_id: 'bob' }] } });

    const text = await scrape();
    expect(sample(text, 'websocket_cluster_published_total')).toBe(0);
    expect(sample(text, 'websocket_cluster_received_total')).toBe(0);
    await ann.close();
  });

  it('counts connections cut by the heartbeat in websocket_heartbeat_timeouts_total', async () => {
    const before = sample(await scrape(), 'websocket_heartbeat_timeouts_total');
    expect(before).toBe(0);
    // A second app in the process (the counters are summed over both) with a short heartbeat.
    const other = await createTestApp({ pingInterval: 50, pongTimeout: 100 });
    try {
      const silent = await TestClient.connect(other.url, { autoPong: false });
      expect((await silent.closed).code).toBe(1006);
      expect(sample(await scrape(), 'websocket_heartbeat_timeouts_total')).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('counts compressed frames per recipient and deflated bytes once per deflate', async () => {
    const compressionSamples = (text: string) => ({
      frames: sample(text, 'websocket_compressed_frames_total'),
      in: sample(text, 'websocket_compression_bytes_total', { stage: 'in' }),
      out: sample(text, 'websocket_compression_bytes_total', { stage: 'out' }),
    });
    // The sample app does not compress: the series are there from the start, at 0.
    expect(compressionSamples(await scrape())).toEqual({ frames: 0, in: 0, out: 0 });
    // A second app in the process (the counters are summed over both) that compresses.
    const other = await createTestApp({ auth: { secret: TEST_SECRET }, compression: true, rooms: { presence: false } });
    try {
      const member = async (user: string, perMessageDeflate: boolean): Promise<TestClient> => {
        const client = await TestClient.connect(`${other.url}?token=${hsToken({ user_id: user })}`, {
          perMessageDeflate,
        });
        await client.next('auth_success');
        await client.request({ type: 'join_room', id: 'j', data: { room_id: 'squeezed' } });
        return client;
      };
      const [d1, d2, plain] = [await member('d1', true), await member('d2', true), await member('p1', false)];
      const [tap, plainTap] = [new FrameTap(d1.socket), new FrameTap(plain.socket)];
      /** Inflated sizes of the messages d1 receives. */
      const inflated: number[] = [];
      d1.socket.on('message', (data: Buffer) => inflated.push(data.length));
      const long = 'see you at the standup, bring the notes; '.repeat(50);

      const rooms = other.app.get(RoomManager);
      for (let n = 0; n < 3; n++) {
        expect(await rooms.broadcast('squeezed', 'notice', { n, text: long })).toMatchObject({ delivered: 3 });
      }
      // Below the threshold (1024 bytes): sent as it is.
      await rooms.broadcast('squeezed', 'notice', { n: 3, text: 'short' });
      for (const client of [d1, d2, plain]) for (let n = 0; n < 4; n++) await client.next('notice');
      // A reply is deflated for its one recipient.
      expect((await d1.request({ type: 'echo', id: 'e', data: { text: long } })).type).toBe('echo_response');

      expect(tap.texts.map((frame) => frame.compressed)).toEqual([true, true, true, false, true]);
      expect(plainTap.texts.map((frame) => frame.compressed)).toEqual([false, false, false, false]);
      const sumOf = (sizes: number[]): number => sizes.reduce((total, size) => total + size, 0);
      expect(compressionSamples(await scrape())).toEqual({
        // Three large broadcasts to two compressing members, and the reply.
        frames: 3 * 2 + 1,
        // Three deflates of the broadcasts (the same JSON the plain member got as is), one of the reply.
        in: sumOf(plainTap.texts.slice(0, 3).map((frame) => frame.length)) + inflated[4],
        // What those deflates produced: what d1 read, each broadcast once.
        out: sumOf(tap.texts.filter((frame) => frame.compressed).map((frame) => frame.length)),
      });
      for (const client of [d1, d2, plain]) await client.close();
    } finally {
      await other.close();
    }
  });

  it('runs with metrics switched off', async () => {
    const quiet = await createTestApp({}, {}, undefined, { metrics: false });
    const client = await TestClient.connect(quiet.url);
    await client.next('connected');
    expect((await client.request({ type: 'echo', id: 'e', data: 1 })).type).toBe('echo_response');
    await client.close();
    await quiet.close();
  });
});

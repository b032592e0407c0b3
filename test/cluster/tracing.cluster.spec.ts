import { describe, expect, it } from '@jest/globals';
import { trace } from '@opentelemetry/api';
import { Redis } from 'ioredis';
import { RedisClusterAdapter } from '../../lib/redis/index.js';
import { startEmitter } from '../support/chat.js';
import { useCleanup } from '../support/cleanup.js';
import { TestRedis } from '../support/redis-server.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';
import { parentOf, randomId, SpanKind, traceparent, useTracingSdk } from '../support/tracing.js';

const ROOM = 'traced';

/**
 * The trace of a message goes through Redis: node A's broadcast span is the parent of the
 * delivery span on node B (and of A's own delivery), in the trace the client started. Checked
 * on the publications themselves too: the context rides in their first line only when a span
 * was made, so that untraced nodes publish what they always did.
 */
describe('OpenTelemetry traces across two nodes (cluster e2e, real redis-server)', () => {
  const cleanup = useCleanup();
  const sdk = useTracingSdk();

  const prefix = `trace${process.pid}`;

  async function cluster(
    tracing = true,
  ): Promise<{ a: TestApp; b: TestApp; publications: string[]; redis: TestRedis }> {
    const redis = cleanup.track(await TestRedis.start());
    const node = async (nodeId: string) =>
      cleanup.track(
        await createTestApp({
          nodeId,
          rateLimit: false,
          tracing,
          cluster: new RedisClusterAdapter({ url: redis.url, prefix }),
        }),
      );
    // What Redis carries on the room's channel, as any subscribed node receives it.
    const publications: string[] = [];
    const subscriber = new Redis(redis.port, '127.0.0.1');
    cleanup.defer(() => subscriber.disconnect());
    subscriber.on('message', (_channel: string, message: string) => publications.push(message));
    await subscriber.subscribe(`${prefix}:room:{${ROOM}}`);
    return { a: await node('node-a'), b: await node('node-b'), publications, redis };
  }

  async function member(app: TestApp): Promise<TestClient> {
    const client = cleanup.track(await TestClient.connect(app.url));
    await client.request({ type: 'join_room', id: 'join', data: { room_id: ROOM } });
    return client;
  }

  it("makes node B's delivery a child of node A's broadcast span, in the client's trace", async () => {
    const { a, b, publications } = await cluster();
    const sender = await member(a);
    const receiver = await member(b);
    const traceId = randomId(16);
    const clientSpanId = randomId(8);
    sender.send({
      type: 'chat',
      id: 'c1',
      data: { room_id: ROOM, content: 'traced hello' },
      metadata: { traceparent: traceparent(traceId, clientSpanId) },
    });
    const delivered = await receiver.next('chat_message');
    await sender.next('chat_message');
    await until(
      () => sdk.named('realtime deliver chat_message').length === 2 && sdk.named('realtime chat').length === 1,
    );

    const [message] = sdk.named('realtime chat');
    expect(message.attributes['realtime.node.id']).toBe('node-a');
    expect(message.spanContext().traceId).toBe(traceId);
    expect(parentOf(message)).toBe(clientSpanId);

    const [publish] = sdk.named('realtime publish chat_message');
    expect(publish.kind).toBe(SpanKind.PRODUCER);
    expect(publish.attributes).toMatchObject({ 'realtime.node.id': 'node-a', 'realtime.room.seq': delivered.seq });
    expect(publish.spanContext().traceId).toBe(traceId);
    expect(parentOf(publish)).toBe(message.spanContext().spanId);

    const deliveries = sdk.named('realtime deliver chat_message');
    const onNode = (nodeId: string) => deliveries.find((span) => span.attributes['realtime.node.id'] === nodeId)!;
    for (const nodeId of ['node-b', 'node-a']) {
      const delivery = onNode(nodeId);
      expect(delivery).toBeDefined();
      expect(delivery.kind).toBe(SpanKind.CONSUMER);
      expect(delivery.spanContext().traceId).toBe(traceId);
      expect(parentOf(delivery)).toBe(publish.spanContext().spanId);
      expect(delivery.attributes).toMatchObject({
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'deliver',
        'messaging.destination.name': ROOM,
        'realtime.room.seq': delivered.seq,
        'realtime.room.epoch': delivered.epoch,
        'realtime.delivered': 1,
      });
    }

    // What went through Redis: the broadcast span's context after the kind letter; the frame is untouched.
    const [publication] = publications;
    const lines = publication.split('\n');
    expect(JSON.parse(lines[0].slice(1))).toEqual({
      traceparent: `00-${traceId}-${publish.spanContext().spanId}-01`,
    });
    expect(lines.slice(1, 3)).toEqual(['node-a', '']);
    expect(JSON.parse(lines.slice(3).join('\n'))).toEqual(delivered);
  });

  it("makes a worker's RealtimeEmitter broadcast part of the worker's trace, down to each node's delivery", async () => {
    const { b, redis } = await cluster();
    const receiver = await member(b);
    const worker = cleanup.track(await startEmitter(new RedisClusterAdapter({ url: redis.url, prefix })));
    const sequenced = await trace
      .getTracer('worker')
      .startActiveSpan('job send-digest', (job) =>
        worker.emitter.toRoom(ROOM, 'digest', { items: 3 }).finally(() => job.end()),
      );
    expect((await receiver.next('digest')).seq).toBe(sequenced.seq);
    await until(() => sdk.named('realtime deliver digest').length === 1);

    const [job] = sdk.named('job send-digest');
    const [publish] = sdk.named('realtime publish digest');
    const [delivery] = sdk.named('realtime deliver digest');
    expect(parentOf(publish)).toBe(job.spanContext().spanId);
    expect(publish.attributes['realtime.node.id']).toBe(worker.emitter.nodeId);
    expect(delivery.attributes['realtime.node.id']).toBe('node-b');
    expect(parentOf(delivery)).toBe(publish.spanContext().spanId);
    expect(new Set([job, publish, delivery].map((span) => span.spanContext().traceId)).size).toBe(1);
  });

  it('publishes byte for byte the untraced format with the API but no SDK, and with tracing: false', async () => {
    // The API installed, no SDK registered.
    sdk.unregister();
    const untraced = await cluster();
    const sender = await member(untraced.a);
    const receiver = await member(untraced.b);
    sender.send({
      type: 'chat',
      id: 'c1',
      data: { room_id: ROOM, content: 'no sdk' },
      metadata: { traceparent: traceparent(randomId(16), randomId(8)) },
    });
    const frame = await receiver.next('chat_message');
    await until(() => untraced.publications.length === 1);
    expect(untraced.publications[0].startsWith('R\nnode-a\n\n{')).toBe(true);
    expect(JSON.parse(untraced.publications[0].slice('R\nnode-a\n\n'.length))).toEqual(frame);

    // An SDK registered, and the option off.
    sdk.register();
    const off = await cluster(false);
    const offSender = await member(off.a);
    const offReceiver = await member(off.b);
    offSender.send({
      type: 'chat',
      id: 'c2',
      data: { room_id: ROOM, content: 'tracing off' },
      metadata: { traceparent: traceparent(randomId(16), randomId(8)) },
    });
    const offFrame = await offReceiver.next('chat_message');
    await until(() => off.publications.length === 1);
    expect(off.publications[0]).toBe(`R\nnode-a\n\n${JSON.stringify(offFrame)}`);
    expect(sdk.spans()).toEqual([]);
  });
});

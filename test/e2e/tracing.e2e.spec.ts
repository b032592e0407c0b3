import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import { describe, expect, it } from '@jest/globals';
import { SpanStatusCode, trace, type TextMapPropagator } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Observable } from 'rxjs';
import { Test } from '@nestjs/testing';
import { OnMessage, RealtimeConnection, RoomManager } from '../../lib/index.js';
import { AppModule } from '../../sample/app.module.js';
import { loadSampleConfig } from '../../sample/sample.config.js';
import { useCleanup } from '../support/cleanup.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { parentOf, randomId, SpanKind, traceparent, useTracingSdk } from '../support/tracing.js';

@Injectable()
class PassThrough implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

/** An app's handlers: spans they (or what they call) start must be children of the message's span. */
@Injectable()
class NoteHandlers {
  constructor(private readonly rooms: RoomManager) {}

  /** After an `await`, starts a span of its own, then broadcasts. */
  @OnMessage('note.add')
  async add(_connection: RealtimeConnection, data: { room_id: string; text: string }): Promise<{ seq: number }> {
    await new Promise((resolve) => setImmediate(resolve));
    trace.getTracer('app').startActiveSpan('app work', (span) => span.end());
    const { seq } = await this.rooms.broadcast(data.room_id, 'note', { text: data.text });
    return { seq };
  }

  /** Through Nest's pipeline (an interceptor), which calls the handler from an Observable. */
  @OnMessage('note.intercepted')
  @UseInterceptors(PassThrough)
  async intercepted(_connection: RealtimeConnection, data: { room_id: string }): Promise<string> {
    await this.rooms.broadcast(data.room_id, 'note', { via: 'interceptor' });
    return 'ok';
  }

  @OnMessage('explode')
  explode(): never {
    throw new Error('kaboom');
  }
}

const ROOM = 'traced-room';

describe('OpenTelemetry spans (e2e)', () => {
  const cleanup = useCleanup();

  async function start(options: { tracing?: boolean } = {}): Promise<TestApp> {
    return cleanup.track(
      await createTestApp(
        { nodeId: 'node-t', rateLimit: false, auth: { secret: TEST_SECRET }, ...options },
        { providers: [NoteHandlers] },
      ),
    );
  }

  async function member(t: TestApp, userId: string): Promise<{ client: TestClient; id: string }> {
    const client = cleanup.track(await TestClient.connect(`${t.url}?token=${hsToken({ user_id: userId })}`));
    const id = (await client.next('connected')).data.client_id as string;
    await client.next('auth_success');
    await client.request({ type: 'join_room', id: 'join', data: { room_id: ROOM } });
    return { client, id };
  }

  const only = (spans: ReadableSpan[]): ReadableSpan => {
    expect(spans).toHaveLength(1);
    return spans[0];
  };

  describe.each<[string, TextMapPropagator | undefined]>([
    ["the module's own traceparent parsing (no propagator registered)", undefined],
    ["the app's registered W3C propagator", new W3CTraceContextPropagator()],
  ])('a client trace, with %s', (_label, propagator) => {
    const sdk = useTracingSdk({ propagator });

    it('is continued: the message span is its child, and the app span and the broadcast span are the message span children', async () => {
      const t = await start();
      const { client, id } = await member(t, 'ann');
      const traceId = randomId(16);
      const clientSpanId = randomId(8);
      const reply = await client.request({
        type: 'note.add',
        id: 'n1',
        data: { room_id: ROOM, text: 'hi' },
        metadata: { traceparent: traceparent(traceId, clientSpanId), tracestate: 'vendor=abc' },
      });
      const note = client.frames.find((f) => f.type === 'note')!;
      expect(reply.data).toEqual({ seq: note.seq });

      const message = only(sdk.named('realtime note.add'));
      expect(message.kind).toBe(SpanKind.SERVER);
      expect(message.spanContext().traceId).toBe(traceId);
      expect(parentOf(message)).toBe(clientSpanId);
      expect(message.parentSpanContext?.isRemote).toBe(true);
      expect(message.parentSpanContext?.traceState?.get('vendor')).toBe('abc');
      expect(message.attributes).toMatchObject({
        'messaging.system': 'nest-realtime',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'handle',
        'messaging.destination.name': ROOM,
        'messaging.message.id': 'n1',
        'realtime.message.type': 'note.add',
        'realtime.connection.id': id,
        'user.id': 'ann',
        'realtime.node.id': 'node-t',
        'realtime.result': 'ok',
      });
      expect(message.attributes['error.type']).toBeUndefined();
      expect(message.status.code).toBe(SpanStatusCode.UNSET);

      // Active across the handler's await: the app's own span is a child.
      const app = only(sdk.named('app work'));
      expect(app.spanContext().traceId).toBe(traceId);
      expect(parentOf(app)).toBe(message.spanContext().spanId);

      const publish = only(sdk.named('realtime publish note'));
      expect(publish.kind).toBe(SpanKind.PRODUCER);
      expect(publish.spanContext().traceId).toBe(traceId);
      expect(parentOf(publish)).toBe(message.spanContext().spanId);
      expect(publish.attributes).toMatchObject({
        'messaging.operation.type': 'send',
        'messaging.destination.name': ROOM,
        'realtime.message.type': 'note',
        'realtime.room.seq': note.seq,
        'realtime.room.epoch': note.epoch,
        'realtime.delivered': 1,
      });
      // The broadcast ended before the message it was made for.
      expect(sdk.spans().indexOf(publish)).toBeLessThan(sdk.spans().indexOf(message));
    });

    it('is not continued from an invalid traceparent: the message starts a trace of its own', async () => {
      const t = await start();
      const { client } = await member(t, 'ann');
      const zeros = traceparent('0'.repeat(32), randomId(8));
      await client.request({ type: 'echo', id: 'e1', data: 1, metadata: { traceparent: zeros } });
      await client.request({ type: 'echo', id: 'e2', data: 2, metadata: { traceparent: 42 } });
      const spans = sdk.named('realtime echo');
      expect(spans).toHaveLength(2);
      for (const span of spans) {
        expect(parentOf(span)).toBeUndefined();
        expect(span.spanContext().traceId).not.toBe('0'.repeat(32));
      }
      expect(spans[0].spanContext().traceId).not.toBe(spans[1].spanContext().traceId);
    });
  });

  describe('with an SDK registered', () => {
    const sdk = useTracingSdk();

    it('makes each message without metadata the root of a trace of its own', async () => {
      const t = await start();
      const { client } = await member(t, 'ann');
      await client.request({ type: 'echo', id: 'e1', data: 'x' });
      await client.request({ type: 'ping', id: 'p1' });
      const [echo, ping] = [only(sdk.named('realtime echo')), only(sdk.named('realtime ping'))];
      for (const span of [echo, ping]) {
        expect(parentOf(span)).toBeUndefined();
        expect(span.attributes['realtime.result']).toBe('ok');
      }
      expect(echo.spanContext().traceId).not.toBe(ping.spanContext().traceId);
      // The join before them: its room is the built-in's data.room_id.
      expect(only(sdk.named('realtime join_room')).attributes['messaging.destination.name']).toBe(ROOM);
    });

    it('records the error code a message got; only INTERNAL marks the span as an error, with the exception', async () => {
      const t = await start();
      const { client } = await member(t, 'ann');
      const refused = await client.request({ type: 'chat', id: 'c1', data: { room_id: 'elsewhere', content: 'x' } });
      expect(refused.data.code).toBe('NOT_IN_ROOM');
      const failed = await client.request({ type: 'explode', id: 'x1' });
      expect(failed.data.code).toBe('INTERNAL');

      const chat = only(sdk.named('realtime chat'));
      expect(chat.attributes).toMatchObject({ 'realtime.result': 'NOT_IN_ROOM', 'error.type': 'NOT_IN_ROOM' });
      expect(chat.status.code).toBe(SpanStatusCode.UNSET);
      expect(sdk.named('realtime publish chat_message')).toHaveLength(0);

      const explode = only(sdk.named('realtime explode'));
      expect(explode.attributes).toMatchObject({ 'realtime.result': 'INTERNAL', 'error.type': 'INTERNAL' });
      expect(explode.status.code).toBe(SpanStatusCode.ERROR);
      const exception = explode.events.find((event) => event.name === 'exception');
      expect(exception?.attributes?.['exception.message']).toBe('kaboom');
    });

    it('runs a handler behind an interceptor with the message span active', async () => {
      const t = await start();
      const { client } = await member(t, 'ann');
      expect((await client.request({ type: 'note.intercepted', id: 'i1', data: { room_id: ROOM } })).data).toBe('ok');
      const message = only(sdk.named('realtime note.intercepted'));
      const publish = only(sdk.named('realtime publish note'));
      expect(parentOf(publish)).toBe(message.spanContext().spanId);
      expect(publish.spanContext().traceId).toBe(message.spanContext().traceId);
    });

    it('traces a broadcast made outside any handler (a REST controller, a job) under what is active there', async () => {
      const t = await start();
      const { client } = await member(t, 'ann');
      const rooms = t.app.get(RoomManager);
      const result = await trace
        .getTracer('app')
        .startActiveSpan('POST /rooms/:id/messages', (span) =>
          rooms.broadcast(ROOM, 'chat_message', { content: 'from REST' }).finally(() => span.end()),
        );
      await client.next('chat_message');
      const http = only(sdk.named('POST /rooms/:id/messages'));
      const publish = only(sdk.named('realtime publish chat_message'));
      expect(parentOf(publish)).toBe(http.spanContext().spanId);
      expect(publish.attributes['realtime.room.seq']).toBe(result.seq);
      // Nothing active: the broadcast is a trace of its own.
      await rooms.broadcast(ROOM, 'chat_message', { content: 'from a job' });
      const spans = sdk.named('realtime publish chat_message');
      expect(spans).toHaveLength(2);
      expect(parentOf(spans[1])).toBeUndefined();
    });
  });

  describe('in the sample app', () => {
    const sdk = useTracingSdk();
    const SECRET = 'sample-tracing-secret-0123456789abcdef';

    it('traces a chat from a client trace, and a REST post, through the sample as it is', async () => {
      const config = loadSampleConfig({ JWT_SECRET: SECRET, NODE_ID: 'sample-t', LOG_LEVEL: 'error' });
      const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      cleanup.track(app);
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as { port: number };
      const client = cleanup.track(
        await TestClient.connect(
          `ws://127.0.0.1:${port}/ws?token=${hsToken({ user_id: 'u1', username: 'Ann' }, SECRET)}`,
        ),
      );
      await client.next('auth_success');
      await client.request({ type: 'join_room', id: 'j', data: { room_id: 'news' } });
      const traceId = randomId(16);
      const clientSpanId = randomId(8);
      client.send({
        type: 'chat',
        data: { room_id: 'news', content: 'traced' },
        metadata: { traceparent: traceparent(traceId, clientSpanId) },
      });
      const chat = await client.next('chat_message');
      const response = await fetch(`http://127.0.0.1:${port}/rooms/news/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${hsToken({ user_id: 'ed' }, SECRET)}` },
        body: JSON.stringify({ content: 'from REST' }),
      });
      expect(response.status).toBe(202);
      const posted = (await response.json()) as { seq: number };
      await client.next('chat_message');

      const message = only(sdk.named('realtime chat'));
      expect(message.spanContext().traceId).toBe(traceId);
      expect(parentOf(message)).toBe(clientSpanId);
      expect(message.attributes).toMatchObject({
        'user.id': 'u1',
        'realtime.node.id': 'sample-t',
        'realtime.result': 'ok',
      });
      const [fromChat, fromRest] = sdk.named('realtime publish chat_message');
      expect(parentOf(fromChat)).toBe(message.spanContext().spanId);
      expect(fromChat.attributes['realtime.room.seq']).toBe(chat.seq);
      // No HTTP instrumentation in this test: the REST broadcast is a trace of its own.
      expect(parentOf(fromRest)).toBeUndefined();
      expect(fromRest.attributes['realtime.room.seq']).toBe(posted.seq);
    });
  });

  describe('with tracing: false', () => {
    const sdk = useTracingSdk();

    it('makes no span, whatever is registered, and behaves the same', async () => {
      const t = await start({ tracing: false });
      const { client } = await member(t, 'ann');
      const reply = await client.request({
        type: 'note.add',
        id: 'n1',
        data: { room_id: ROOM, text: 'hi' },
        metadata: { traceparent: traceparent(randomId(16), randomId(8)) },
      });
      const note = client.frames.find((f) => f.type === 'note')!;
      expect(reply.data).toEqual({ seq: note.seq });
      expect(note.data).toEqual({ text: 'hi' });
      expect((await client.request({ type: 'explode', id: 'x1' })).data.code).toBe('INTERNAL');
      // The app's own span is still made (the SDK is registered): only the module's are off.
      expect(sdk.spans().map((span) => span.name)).toEqual(['app work']);
    });
  });
});

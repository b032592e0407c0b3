import { describe, expect, it, jest } from '@jest/globals';
import * as api from '@opentelemetry/api';
import { AlwaysOffSampler, ParentBasedSampler } from '@opentelemetry/sdk-trace-base';
import { RealtimeTracing } from '../../../lib/tracing/realtime-tracing.js';
import { parentOf, SpanKind, useTracingSdk } from '../../support/tracing.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const HEADER = JSON.stringify({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` });

describe('RealtimeTracing', () => {
  describe('with an SDK registered', () => {
    const sdk = useTracingSdk();

    it('makes nothing with tracing off (without even loading the API), or without the API installed', () => {
      const load = jest.fn(() => api);
      const off = new RealtimeTracing(false, 'n1', load);
      expect(load).not.toHaveBeenCalled();
      for (const tracing of [off, new RealtimeTracing(true, 'n1', () => undefined)]) {
        expect(tracing.message('echo', { type: 'echo' }, 15, 'c1', undefined)).toBeUndefined();
        expect(tracing.publish('room', 'chat_message')).toBeUndefined();
        expect(tracing.delivery('room', 'chat_message', 1, 'e', HEADER)).toBeUndefined();
      }
      expect(sdk.spans()).toEqual([]);
    });

    it('names its spans and sets their kind, node and room', () => {
      const tracing = new RealtimeTracing(true, 'n1', () => api);
      tracing.message('join_room', { type: 'join_room', data: { room_id: 'lobby' } }, 40, 'c1', 'u1')!.handled();
      tracing.publish('lobby', 'chat_message')!.published(3, 'e1', 2);
      tracing.delivery('lobby', 'chat_message', 3, 'e1', HEADER)!.delivered(5);
      const [message, publish, delivery] = sdk.spans();
      expect([message.name, publish.name, delivery.name]).toEqual([
        'realtime join_room',
        'realtime publish chat_message',
        'realtime deliver chat_message',
      ]);
      expect([message.kind, publish.kind, delivery.kind]).toEqual([
        SpanKind.SERVER,
        SpanKind.PRODUCER,
        SpanKind.CONSUMER,
      ]);
      for (const span of [message, publish, delivery]) {
        expect(span.attributes).toMatchObject({
          'messaging.system': 'nest-realtime',
          'messaging.destination.name': 'lobby',
          'realtime.node.id': 'n1',
        });
        expect(span.instrumentationScope.name).toBe('nest-realtime');
      }
      expect(message.attributes).toMatchObject({
        'messaging.message.body.size': 40,
        'user.id': 'u1',
        'realtime.result': 'ok',
      });
      expect(publish.attributes).toMatchObject({
        'realtime.room.seq': 3,
        'realtime.room.epoch': 'e1',
        'realtime.delivered': 2,
      });
      expect(delivery.attributes).toMatchObject({ 'realtime.room.seq': 3, 'realtime.delivered': 5 });
      expect(delivery.spanContext().traceId).toBe(TRACE_ID);
      expect(parentOf(delivery)).toBe(SPAN_ID);
    });

    it('makes no delivery span for a frame without a usable context', () => {
      const tracing = new RealtimeTracing(true, 'n1', () => api);
      for (const header of ['', '{}', '{"traceparent":"00-bad"}', 'not json']) {
        expect(tracing.delivery('lobby', 'chat_message', 1, 'e', header)).toBeUndefined();
      }
      expect(sdk.spans()).toEqual([]);
    });

    it('carries the publishing span in its header: what the delivery on another node continues', () => {
      const tracing = new RealtimeTracing(true, 'n1', () => api);
      const publish = tracing.publish('lobby', 'chat_message')!;
      const header = publish.header()!;
      publish.published(1, 'e', 0);
      new RealtimeTracing(true, 'n2', () => api).delivery('lobby', 'chat_message', 1, 'e', header)!.delivered(1);
      const [published, delivered] = sdk.spans();
      expect(parentOf(delivered)).toBe(published.spanContext().spanId);
      expect(delivered.spanContext().traceId).toBe(published.spanContext().traceId);
    });

    it('follows the SDK when it is replaced, and stops when it is removed', () => {
      const tracing = new RealtimeTracing(true, 'n1', () => api);
      tracing.publish('lobby', 'a')!.published(1, 'e', 0);
      expect(sdk.spans()).toHaveLength(1);
      sdk.unregister();
      expect(tracing.publish('lobby', 'b')).toBeUndefined();
      sdk.register();
      tracing.publish('lobby', 'c')!.published(2, 'e', 0);
      expect(sdk.spans().map((span) => span.name)).toEqual(['realtime publish a', 'realtime publish c']);
    });
  });

  describe('with an SDK that samples a trace out', () => {
    const sdk = useTracingSdk({ sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }) });

    it('carries the decision to the other nodes: their deliveries are not recorded either', () => {
      const publish = new RealtimeTracing(true, 'n1', () => api).publish('lobby', 'chat_message')!;
      const header = publish.header()!;
      publish.published(1, 'e', 0);
      // Not sampled (flags 00), but still a context: the other node's parent-based sampler obeys it.
      expect(JSON.parse(header).traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
      const delivery = new RealtimeTracing(true, 'n2', () => api).delivery('lobby', 'chat_message', 1, 'e', header);
      expect(delivery).toBeDefined();
      delivery!.delivered(1);
      expect(sdk.spans()).toEqual([]);
      // A sampled client trace is recorded (the parent decides).
      new RealtimeTracing(true, 'n2', () => api).delivery('lobby', 'chat_message', 2, 'e', HEADER)!.delivered(1);
      expect(sdk.spans().map((span) => span.name)).toEqual(['realtime deliver chat_message']);
    });
  });

  describe('with the API but no SDK', () => {
    it('starts nothing and reads no context: a client traceparent is not even parsed', () => {
      const spies = [
        jest.spyOn(api.trace, 'setSpanContext'),
        jest.spyOn(api.propagation, 'extract'),
        jest.spyOn(api.context, 'active'),
      ];
      const tracing = new RealtimeTracing(true, 'n1', () => api);
      const metadata = { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` };
      expect(tracing.message('echo', { type: 'echo', metadata }, 1, 'c', undefined)).toBeUndefined();
      expect(tracing.publish('lobby', 'x')).toBeUndefined();
      expect(tracing.delivery('lobby', 'x', 1, 'e', HEADER)).toBeUndefined();
      for (const spy of spies) {
        expect(spy).not.toHaveBeenCalled();
        spy.mockRestore();
      }
    });
  });
});

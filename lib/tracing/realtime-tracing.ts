import type { Attributes, Context, SpanKind, Tracer, TracerProvider } from '@opentelemetry/api';
import { type OtelApi, otelApi, RegisteredTracerProvider } from '../internal/otel-api.js';
import type { Envelope } from '../protocol/envelope.js';
import { RealtimeSpan } from './realtime-span.js';
import { TraceCarrier } from './trace-carrier.js';
import { Attr, MESSAGING_SYSTEM, SpanOperation, TRACER_NAME } from './tracing-attributes.js';

/**
 * OpenTelemetry spans of the module (README, "Tracing with OpenTelemetry"): a SERVER span per
 * handled message, continuing the client's trace from `metadata.traceparent`; a PRODUCER span
 * per room broadcast, whose context travels with the cluster publication; a CONSUMER span per
 * delivery of such a publication on a node, child of the PRODUCER span.
 *
 * What it costs: with tracing off (option `tracing: false`) or `@opentelemetry/api` not
 * installed, each method returns `undefined` after one test. With the API but no SDK registered,
 * after one look at the global tracer provider (`RegisteredTracerProvider`): no span is started,
 * no context is read, nothing is allocated, and the cluster publications are byte for byte those
 * of an untraced node. Only with
 * an SDK are spans made — whether they are then recorded is the SDK's sampler's decision.
 */
export class RealtimeTracing {
  private readonly api: OtelApi | undefined;
  private readonly registered: RegisteredTracerProvider | undefined;
  private readonly carrier: TraceCarrier | undefined;
  /** The provider {@link tracer} came from: a new SDK (tests replace theirs) gets a new tracer. */
  private tracerOf: TracerProvider | undefined;
  private tracer: Tracer | undefined;

  /**
   * @internal `loadApi`: `@opentelemetry/api`, or `undefined` when it is not installed; called
   * only when `enabled`. (Stripped from the typings, which must not name the API.)
   */
  constructor(
    enabled: boolean,
    private readonly nodeId: string,
    loadApi: () => OtelApi | undefined = otelApi,
  ) {
    const api = enabled ? loadApi() : undefined;
    this.api = api;
    if (api !== undefined) {
      this.registered = new RegisteredTracerProvider(api);
      this.carrier = new TraceCarrier(api);
    }
  }

  /**
   * The span of a message from a client (`realtime <type>`), started: a child of the context in
   * its `metadata` when there is one, else the root of a trace of its own (not of whatever
   * happens to be active around the socket: a connection may live for days).
   */
  message(
    type: string,
    message: Envelope,
    size: number,
    connectionId: string,
    userId: string | undefined,
  ): RealtimeSpan | undefined {
    const tracer = this.currentTracer();
    if (tracer === undefined) return undefined;
    const api = this.api!;
    const parent = message.metadata === undefined ? api.ROOT_CONTEXT : this.carrier!.extract(message.metadata);
    const attributes = this.attributes(SpanOperation.HANDLE, type, roomOf(message));
    attributes[Attr.BODY_SIZE] = size;
    attributes[Attr.CONNECTION_ID] = connectionId;
    if (message.id !== undefined) attributes[Attr.MESSAGE_ID] = String(message.id);
    if (userId !== undefined) attributes[Attr.USER_ID] = userId;
    return this.start(`realtime ${type}`, api.SpanKind.SERVER, attributes, parent);
  }

  /**
   * The span of a room broadcast (`realtime publish <type>`), started as a child of the active
   * context: the message's span when a handler broadcasts, the HTTP request's when a REST
   * controller does (with the app's HTTP instrumentation).
   */
  publish(roomId: string, type: string): RealtimeSpan | undefined {
    const tracer = this.currentTracer();
    if (tracer === undefined) return undefined;
    const api = this.api!;
    const attributes = this.attributes(SpanOperation.PUBLISH, type, roomId);
    return this.start(`realtime publish ${type}`, api.SpanKind.PRODUCER, attributes, api.context.active());
  }

  /**
   * The span of a room frame from the cluster delivered on this node (`realtime deliver
   * <type>`), started as a child of the publishing span named by `header` (the publication's
   * trace header). `undefined` without a valid header: a frame published untraced (tracing off
   * on its node or emitter, no SDK there, a node of an older version) makes no span here either.
   */
  delivery(roomId: string, type: string, seq: number, epoch: string, header: string): RealtimeSpan | undefined {
    const tracer = this.currentTracer();
    if (tracer === undefined) return undefined;
    const parent = this.carrier!.deserialize(header);
    if (parent === undefined) return undefined;
    const attributes = this.attributes(SpanOperation.DELIVER, type, roomId);
    attributes[Attr.SEQ] = seq;
    attributes[Attr.EPOCH] = epoch;
    return this.start(`realtime deliver ${type}`, this.api!.SpanKind.CONSUMER, attributes, parent);
  }

  /** The tracer of the SDK registered now, or `undefined` (tracing off, no API, no SDK). */
  private currentTracer(): Tracer | undefined {
    const provider = this.registered?.current();
    if (provider === undefined) return undefined;
    if (provider !== this.tracerOf) {
      this.tracer = provider.getTracer(TRACER_NAME);
      this.tracerOf = provider;
    }
    return this.tracer;
  }

  private attributes(
    operation: (typeof SpanOperation)[keyof typeof SpanOperation],
    type: string,
    roomId: string | undefined,
  ): Attributes {
    const attributes: Attributes = {
      [Attr.MESSAGING_SYSTEM]: MESSAGING_SYSTEM,
      [Attr.OPERATION_TYPE]: operation.type,
      [Attr.OPERATION_NAME]: operation.name,
      [Attr.MESSAGE_TYPE]: type,
      [Attr.NODE_ID]: this.nodeId,
    };
    if (roomId !== undefined) attributes[Attr.DESTINATION] = roomId;
    return attributes;
  }

  private start(name: string, kind: SpanKind, attributes: Attributes, parent: Context): RealtimeSpan {
    const api = this.api!;
    const span = this.tracer!.startSpan(name, { kind, attributes }, parent);
    return new RealtimeSpan(api, span, api.trace.setSpan(parent, span), this.carrier!);
  }
}

/**
 * The room a message is about: the envelope's `room`, or the `room_id` of its data (the
 * built-ins' `join_room`, `chat`…), when a string.
 */
function roomOf(message: Envelope): string | undefined {
  if (message.room !== undefined) return message.room;
  const roomId = (message.data as { room_id?: unknown } | null | undefined)?.room_id;
  return typeof roomId === 'string' ? roomId : undefined;
}

/**
 * Span names and attribute keys, in one place. The `messaging.*`, `error.type` and `user.id`
 * keys are OpenTelemetry's semantic conventions (messaging spans); the `realtime.*` ones are
 * ours, for what the conventions have no key for.
 */

/** The tracer's (instrumentation scope's) name. */
export const TRACER_NAME = 'nest-realtime';

/** `messaging.system` of every span: the conventions let a system not in their list name itself. */
export const MESSAGING_SYSTEM = 'nest-realtime';

/** What each of our spans is, as the conventions' operation type and our operation name. */
export const SpanOperation = {
  /** A message from a client, handled (SERVER span): `realtime <type>`. */
  HANDLE: { type: 'process', name: 'handle' },
  /** A room broadcast, sequenced and sent (PRODUCER span): `realtime publish <type>`. */
  PUBLISH: { type: 'send', name: 'publish' },
  /** A room broadcast from the cluster, delivered to this node's members (CONSUMER span): `realtime deliver <type>`. */
  DELIVER: { type: 'process', name: 'deliver' },
} as const;

export const Attr = {
  MESSAGING_SYSTEM: 'messaging.system',
  OPERATION_TYPE: 'messaging.operation.type',
  OPERATION_NAME: 'messaging.operation.name',
  /** The room. */
  DESTINATION: 'messaging.destination.name',
  /** The envelope's request `id`. */
  MESSAGE_ID: 'messaging.message.id',
  /** Bytes of the inbound frame. */
  BODY_SIZE: 'messaging.message.body.size',
  /** The PROTOCOL.md error code a message ended with. */
  ERROR_TYPE: 'error.type',
  USER_ID: 'user.id',
  MESSAGE_TYPE: 'realtime.message.type',
  CONNECTION_ID: 'realtime.connection.id',
  /** The node that made the span: spans of all nodes go to one backend. */
  NODE_ID: 'realtime.node.id',
  /** `ok`, or the error code the sender got. */
  RESULT: 'realtime.result',
  SEQ: 'realtime.room.seq',
  EPOCH: 'realtime.room.epoch',
  /** Connections on this node the frame was written to. */
  DELIVERED: 'realtime.delivered',
} as const;

/** `realtime.result` of a message handled without error. */
export const RESULT_OK = 'ok';

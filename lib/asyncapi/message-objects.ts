import { ErrorFrameType } from '../protocol/error-codes.js';
import type { AsyncApiMessage, AsyncApiOperation, AsyncApiReference } from './asyncapi-document.js';
import { ENVELOPE_FIELDS } from './builtin-messages.js';
import { ERROR_FRAMES, type ClientMessage, type ServerFrame } from './handler-messages.js';
import { fieldSchema, type JsonSchema } from './json-schema.js';

// The AsyncAPI objects of one message or frame: its Message Object (the payload is the whole
// envelope, `data` inside) and its Operation Object.

/** The one channel: the WebSocket endpoint. */
export const CHANNEL = 'realtime';
const CHANNEL_REF: AsyncApiReference = { $ref: `#/channels/${CHANNEL}` };
const REQUEST_ID: AsyncApiReference = { $ref: '#/components/correlationIds/requestId' };
const BUILTIN_TAG = [{ name: 'built-in' }];
const EXAMPLE_TIMESTAMP = '2026-01-01T12:00:00.000Z';

/** A reference to a message of the channel (operations must name the channel's messages). */
export const channelMessage = (key: string): AsyncApiReference => ({ $ref: `#/channels/${CHANNEL}/messages/${key}` });

/** Whether a payload schema is one a message cannot leave out: a DTO's, or an object with required fields. */
function requiresData(schema: JsonSchema | undefined): boolean {
  return schema !== undefined && (schema.$ref !== undefined || (schema.required?.length ?? 0) > 0);
}

/** Whether a frame may carry the `id` of a message: it answers one. */
const isCorrelated = (frame: ServerFrame) => frame.answers.length > 0 || ERROR_FRAMES.includes(frame.type);

/** `a`, `a or b`, `a, b or c`, each in backticks. */
const quote = (types: readonly string[]) =>
  types.map((type, i) => `${i === 0 ? '' : i === types.length - 1 ? ' or ' : ', '}\`${type}\``).join('');

export function clientMessageObject(message: ClientMessage): AsyncApiMessage {
  const payload: JsonSchema = {
    type: 'object',
    required: ['type', ...(requiresData(message.data) ? ['data'] : [])],
    properties: {
      type: { type: 'string', const: message.type },
      id: fieldSchema(ENVELOPE_FIELDS.id),
      ...(message.data !== undefined && { data: message.data }),
      metadata: fieldSchema(ENVELOPE_FIELDS.metadata),
    },
  };
  return {
    name: message.type,
    title: message.type,
    ...(message.summary !== undefined && { summary: message.summary }),
    ...(message.description !== undefined && { description: message.description }),
    payload,
    correlationId: REQUEST_ID,
    ...(message.example !== undefined && {
      examples: [{ name: message.type, payload: { type: message.type, id: '1', data: message.example } }],
    }),
    ...(message.builtin && { tags: BUILTIN_TAG }),
  };
}

export function serverMessageObject(frame: ServerFrame): AsyncApiMessage {
  const room = frame.roomBroadcast === true;
  const correlated = isCorrelated(frame);
  const payload: JsonSchema = {
    type: 'object',
    required: [
      'type',
      ...(room ? ['room', 'seq', 'epoch'] : []),
      ...(requiresData(frame.data) ? ['data'] : []),
      'timestamp',
    ],
    properties: {
      type: { type: 'string', const: frame.type },
      ...(correlated && { id: fieldSchema(ENVELOPE_FIELDS.id) }),
      ...(room && {
        room: fieldSchema(ENVELOPE_FIELDS.room),
        seq: fieldSchema(ENVELOPE_FIELDS.seq),
        epoch: fieldSchema(ENVELOPE_FIELDS.epoch),
      }),
      ...(frame.data !== undefined && { data: frame.data }),
      timestamp: fieldSchema(ENVELOPE_FIELDS.timestamp),
    },
  };
  const example = {
    type: frame.type,
    ...(room && { room: 'general', seq: 42, epoch: 'Zk3x' }),
    data: frame.example,
    timestamp: EXAMPLE_TIMESTAMP,
  };
  return {
    name: frame.type,
    title: frame.type,
    ...(frame.summary !== '' && { summary: frame.summary }),
    ...(frame.description !== undefined && { description: frame.description }),
    payload,
    ...(correlated && { correlationId: REQUEST_ID }),
    ...(frame.example !== undefined && { examples: [{ name: frame.type, payload: example }] }),
    ...(frame.builtin && { tags: BUILTIN_TAG }),
  };
}

/** The server receives `message`; its `reply` lists the frames that answer it, errors included. */
export function receiveOperation(
  message: ClientMessage,
  key: string,
  frameKey: (type: string) => string,
): AsyncApiOperation {
  return {
    action: 'receive',
    channel: CHANNEL_REF,
    title: message.type,
    ...(message.summary !== undefined && { summary: message.summary }),
    ...(message.description !== undefined && { description: message.description }),
    messages: [channelMessage(key)],
    reply: {
      channel: CHANNEL_REF,
      messages: [...message.replies, ...message.errors].map((type) => channelMessage(frameKey(type))),
    },
    ...(message.builtin && { tags: BUILTIN_TAG }),
  };
}

/** The server sends `frame`; the description says when. */
export function sendOperation(frame: ServerFrame, key: string, handshakeAuth: boolean): AsyncApiOperation {
  const when = [
    ...(frame.type === 'connected' ? ['On every new connection, first.'] : []),
    ...(frame.type === 'auth_success' && handshakeAuth
      ? ['After `connected`, when a handshake token authenticated the connection.']
      : []),
    ...(ERROR_FRAMES.includes(frame.type) ? ['In answer to a message it refuses, repeating its `id`.'] : []),
    ...(frame.type === ErrorFrameType.ERROR
      ? [
          'Also on its own: `TOKEN_EXPIRED` when the token expires, `RATE_LIMITED` (without `id`: the message was not read).',
        ]
      : []),
    ...(frame.answers.length > 0 ? [`Answers ${quote(frame.answers)}, repeating its \`id\`.`] : []),
    ...(frame.causedBy.length > 0 ? [`Caused by ${quote(frame.causedBy)}.`] : []),
    ...(frame.roomBroadcast
      ? [
          'A room broadcast: to every member of the room on every node, with `room`, `seq` and `epoch`; ' +
            'kept in the room history and replayed by `resume`.',
        ]
      : []),
  ];
  return {
    action: 'send',
    channel: CHANNEL_REF,
    title: frame.type,
    ...(frame.summary !== '' && { summary: frame.summary }),
    ...(when.length > 0 && { description: when.join(' ') }),
    messages: [channelMessage(key)],
    ...(frame.builtin && { tags: BUILTIN_TAG }),
  };
}

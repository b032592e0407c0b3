import { Reflector } from '@nestjs/core';
import type { MessageDocOptions } from '../decorators/message-doc.decorator.js';
import type { MessageHandlerDefinition } from '../discovery/message-handler.definition.js';
import { RealtimeMetadataAccessor } from '../discovery/realtime-metadata.accessor.js';
import type { BuiltinMessageType } from '../interfaces/realtime-options.interface.js';
import { ErrorFrameType } from '../protocol/error-codes.js';
import type { ServerFrameMap } from '../protocol/server-frames.js';
import { IS_PUBLIC_METADATA, REQUIRED_ROLES_METADATA } from '../realtime.constants.js';
import type {
  AsyncApiDocument,
  AsyncApiDocumentOptions,
  AsyncApiMessage,
  AsyncApiOperation,
  AsyncApiReference,
} from './asyncapi-document.js';
import {
  BUILTIN_MESSAGES,
  closeCodeTable,
  CONNECTION_FLOW,
  ENVELOPE_FIELDS,
  SERVER_FRAMES,
  SHARED_SCHEMAS,
  type ServerFrameDoc,
} from './builtin-messages.js';
import { handlerTypes } from './handler-types.js';
import { anyValue, fieldSchema, type JsonSchema } from './json-schema.js';
import { MessageKeys } from './message-keys.js';
import { PayloadSchemas } from './payload-schemas.js';

/** What the document needs to know of the endpoint (the module's resolved options). */
export interface RealtimeEndpoint {
  path: string;
  /** `undefined`: no `auth` option (anonymous connections only). */
  auth: { required: boolean } | undefined;
}

/** A message a client sends, as documented. */
interface ClientMessage {
  type: string;
  builtin: boolean;
  summary?: string;
  description?: string;
  /** `undefined`: the message takes no `data` (the built-in `ping`). */
  data: JsonSchema | undefined;
  example?: unknown;
  replies: string[];
  /** Error frame types it may get. */
  errors: string[];
}

/** A frame the server sends, as documented. */
interface ServerFrame extends ServerFrameDoc {
  type: string;
  builtin: boolean;
  /** May repeat the `id` of the message it answers. */
  correlated: boolean;
  /** The client messages it answers (with their `id`). */
  answers: string[];
  /** The client messages that cause it (to others, or to the sender as a member). */
  causedBy: string[];
}

const CHANNEL = 'realtime';
const CHANNEL_REF: AsyncApiReference = { $ref: `#/channels/${CHANNEL}` };
const REQUEST_ID: AsyncApiReference = { $ref: '#/components/correlationIds/requestId' };
const BUILTIN_TAG = [{ name: 'built-in' }];
const EXAMPLE_TIMESTAMP = '2026-01-01T12:00:00.000Z';
const ERROR_FRAMES: readonly string[] = [
  ErrorFrameType.ERROR,
  ErrorFrameType.AUTH_ERROR,
  ErrorFrameType.AUTHORIZATION_ERROR,
];
/** The built-in types in the order the document lists them (the catalog's). */
const BUILTIN_ORDER = Object.keys(BUILTIN_MESSAGES);

/** Whether a payload schema is one a message cannot leave out: a DTO's, or an object with required fields. */
function requiresData(schema: JsonSchema | undefined): boolean {
  return schema !== undefined && (schema.$ref !== undefined || (schema.required?.length ?? 0) > 0);
}

function byType(a: MessageHandlerDefinition, b: MessageHandlerDefinition): number {
  if (a.builtin !== b.builtin) return a.builtin ? -1 : 1;
  if (a.builtin) return BUILTIN_ORDER.indexOf(a.type) - BUILTIN_ORDER.indexOf(b.type);
  return a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
}

/**
 * Builds the AsyncAPI 3.0 document of an endpoint from its message handlers: one channel (the
 * WebSocket endpoint), a `receive` operation per message type a client may send (its reply and
 * error frames as the operation's `reply`), a `send` operation per frame the server sends, and
 * the messages' payloads — the built-ins' from builtin-messages.ts, the application's from its
 * handlers' `@MessageData()` DTOs and `@MessageDoc()`. Built-ins come first, in the catalog's
 * order, then the application's messages by type: the output is stable for a stable app.
 */
export function buildAsyncApiDocument(
  handlers: readonly MessageHandlerDefinition[],
  endpoint: RealtimeEndpoint,
  options: AsyncApiDocumentOptions = {},
): AsyncApiDocument {
  return new DocumentBuilder(endpoint).build([...handlers].sort(byType), options);
}

class DocumentBuilder {
  private readonly payloads = new PayloadSchemas();
  private readonly reflector = new Reflector();
  private readonly accessor = new RealtimeMetadataAccessor(this.reflector);
  private readonly clientKeys = new MessageKeys();
  private readonly serverKeys = new MessageKeys();
  private readonly frames = new Map<string, ServerFrame>();
  private readonly errorFrames = new Set<string>([ErrorFrameType.ERROR]);

  constructor(private readonly endpoint: RealtimeEndpoint) {}

  build(handlers: readonly MessageHandlerDefinition[], options: AsyncApiDocumentOptions): AsyncApiDocument {
    this.frame('connected');
    if (this.endpoint.auth) this.frame('auth_success');
    const messages = handlers.map((handler) => this.clientMessage(handler));
    // Error frames last, in a fixed order, whichever handler needed them first.
    for (const type of ERROR_FRAMES) if (this.errorFrames.has(type)) this.frame(type);

    const document: AsyncApiDocument = {
      asyncapi: '3.0.0',
      info: {
        title: options.title ?? 'Realtime API',
        version: options.version ?? '1.0.0',
        description: options.description ? `${options.description}\n\n${CONNECTION_FLOW}` : CONNECTION_FLOW,
      },
      defaultContentType: 'application/json',
      servers: this.servers(options),
      channels: {},
      operations: {},
      components: {
        schemas: {},
        messages: {},
        correlationIds: {
          requestId: {
            description: 'The `id` a client gave its message, repeated by every reply and error it causes.',
            location: '$message.payload#/id',
          },
        },
        ...(this.endpoint.auth && { securitySchemes: SECURITY_SCHEMES }),
      },
    };
    const channelMessages: Record<string, AsyncApiReference> = {};
    for (const message of messages) {
      const key = `client.${this.clientKeys.of(message.type)}`;
      document.components.messages[key] = this.clientComponent(message);
      channelMessages[key] = { $ref: `#/components/messages/${key}` };
    }
    for (const frame of this.frames.values()) {
      const key = `server.${this.serverKeys.of(frame.type)}`;
      document.components.messages[key] = this.serverComponent(frame);
      channelMessages[key] = { $ref: `#/components/messages/${key}` };
    }
    document.channels[CHANNEL] = {
      address: this.endpoint.path,
      title: 'WebSocket endpoint',
      description:
        'Every message of the API, in both directions, goes through this one WebSocket endpoint: ' +
        `one JSON envelope per text frame.\n\nWhen the server closes the connection, the close code says why:\n\n${closeCodeTable()}`,
      messages: channelMessages,
      bindings: { ws: this.wsBinding() },
    };
    for (const message of messages) {
      const key = this.clientKeys.of(message.type);
      document.operations[`receive.${key}`] = this.receiveOperation(message, key);
    }
    for (const frame of this.frames.values()) {
      const key = this.serverKeys.of(frame.type);
      document.operations[`send.${key}`] = this.sendOperation(frame, key);
    }
    document.components.schemas = { ...SHARED_SCHEMAS, ...this.payloads.components() };
    return document;
  }

  // ---- what each handler says ----

  private clientMessage(handler: MessageHandlerDefinition): ClientMessage {
    const method = (handler.instance as Record<string, (...args: unknown[]) => unknown>)[handler.methodName];
    const targets = [method, handler.instance.constructor];
    const notes: string[] = [];
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_METADATA, targets) === true;
    if (this.endpoint.auth?.required && !isPublic) {
      notes.push('Needs an authenticated connection (`error AUTH_REQUIRED` otherwise).');
    }
    const errors = new Set<string>([ErrorFrameType.ERROR]);
    const roles = this.reflector.getAllAndOverride<string[] | undefined>(REQUIRED_ROLES_METADATA, targets);
    if (roles?.length) {
      notes.push(
        `Needs one of the roles ${roles.map((role) => `\`${role}\``).join(', ')} (\`admin\` has them all; ` +
          '`authorization_error INSUFFICIENT_PERMISSIONS` otherwise).',
      );
      errors.add(ErrorFrameType.AUTHORIZATION_ERROR);
    }
    if (handler.concurrent) {
      notes.push("Handled concurrently: its reply may come after the replies to the connection's later messages.");
    }
    const builtin = handler.builtin ? BUILTIN_MESSAGES[handler.type as BuiltinMessageType] : undefined;
    for (const type of builtin?.errors ?? []) errors.add(type);
    for (const type of errors) this.errorFrames.add(type);
    const message = builtin ? this.builtinMessage(handler, builtin) : this.appMessage(handler, method);
    return { ...message, description: joinText(message.description, notes), errors: [...errors] };
  }

  private builtinMessage(
    handler: MessageHandlerDefinition,
    doc: (typeof BUILTIN_MESSAGES)[BuiltinMessageType],
  ): Omit<ClientMessage, 'errors'> {
    for (const type of doc.replies) this.frame(type).answers.push(handler.type);
    for (const type of doc.causes) this.frame(type).causedBy.push(handler.type);
    return {
      type: handler.type,
      builtin: true,
      summary: doc.summary,
      description: doc.description,
      data: doc.data,
      example: doc.example,
      replies: [...doc.replies],
    };
  }

  private appMessage(
    handler: MessageHandlerDefinition,
    method: (...args: unknown[]) => unknown,
  ): Omit<ClientMessage, 'errors'> {
    const doc: MessageDocOptions = this.accessor.getMessageDoc(method) ?? {};
    const types = handlerTypes(handler.instance, handler.methodName);
    const toRoom = doc.replyTo === 'room';
    const reply = this.frame(handler.reply, { builtin: false });
    const replyData =
      doc.replyType !== undefined ? this.payloads.ofClass(doc.replyType) : this.payloads.ofReturnType(types.returns);
    // Application reply frames are documented by the handler; a built-in frame of the same type
    // keeps its schema unless the handler says otherwise.
    if (!reply.builtin || replyData !== undefined) {
      Object.assign(reply, {
        summary: reply.builtin ? reply.summary : `The ${toRoom ? 'broadcast' : 'reply'} of \`${handler.type}\`.`,
        data: replyData ?? (reply.builtin ? reply.data : anyValue()),
        example: doc.replyExample ?? reply.example,
        roomBroadcast: reply.roomBroadcast || toRoom,
        correlated: reply.correlated || !toRoom,
      });
    }
    (toRoom ? reply.causedBy : reply.answers).push(handler.type);
    return {
      type: handler.type,
      builtin: false,
      summary: doc.summary,
      description: doc.description,
      data: this.dataSchema(types.data, types.properties),
      example: doc.example,
      replies: toRoom ? [] : [handler.reply],
    };
  }

  /** `data` from the handler's parameters: a whole-data DTO, or the properties it reads one by one. */
  private dataSchema(whole: unknown, properties: Map<string, unknown>): JsonSchema {
    const schema = this.payloads.of(whole);
    if (schema !== undefined || properties.size === 0) return schema ?? anyValue();
    return {
      type: 'object',
      properties: Object.fromEntries([...properties].map(([name, type]) => [name, this.payloads.of(type) ?? {}])),
    };
  }

  /** The frame of `type`, created on first use (a built-in's from the catalog). */
  private frame(type: string, { builtin = true } = {}): ServerFrame {
    let frame = this.frames.get(type);
    if (frame === undefined) {
      const doc: ServerFrameDoc | undefined = builtin ? SERVER_FRAMES[type as keyof ServerFrameMap] : undefined;
      frame = {
        summary: '',
        data: undefined,
        ...doc,
        type,
        builtin: doc !== undefined,
        correlated: ERROR_FRAMES.includes(type),
        answers: [],
        causedBy: [],
      };
      this.frames.set(type, frame);
    }
    return frame;
  }

  // ---- the document's parts ----

  private servers(options: AsyncApiDocumentOptions): AsyncApiDocument['servers'] {
    const servers = options.servers ?? { local: { host: 'localhost:3000', protocol: 'ws' } };
    return Object.fromEntries(
      Object.entries(servers).map(([name, server]) => [
        name,
        {
          host: server.host,
          protocol: server.protocol ?? 'ws',
          ...(server.description !== undefined && { description: server.description }),
          ...(this.endpoint.auth && {
            security: Object.keys(SECURITY_SCHEMES).map((scheme) => ({
              $ref: `#/components/securitySchemes/${scheme}`,
            })),
          }),
        },
      ]),
    );
  }

  private wsBinding(): Record<string, unknown> {
    const token = 'A JWT authenticating the connection at the handshake (or send `auth` later).';
    return {
      method: 'GET',
      ...(this.endpoint.auth && {
        query: { type: 'object', properties: { token: { type: 'string', description: token } } },
        headers: {
          type: 'object',
          properties: { Authorization: { type: 'string', pattern: '^Bearer ', description: token } },
        },
      }),
      bindingVersion: '0.1.0',
    };
  }

  private clientComponent(message: ClientMessage): AsyncApiMessage {
    const required = ['type', ...(requiresData(message.data) ? ['data'] : [])];
    const payload: JsonSchema = {
      type: 'object',
      required,
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

  private serverComponent(frame: ServerFrame): AsyncApiMessage {
    const room = frame.roomBroadcast === true;
    const required = [
      'type',
      ...(room ? ['room', 'seq', 'epoch'] : []),
      ...(requiresData(frame.data) ? ['data'] : []),
      'timestamp',
    ];
    const payload: JsonSchema = {
      type: 'object',
      required,
      properties: {
        type: { type: 'string', const: frame.type },
        ...(frame.correlated && { id: fieldSchema(ENVELOPE_FIELDS.id) }),
        ...(room && {
          room: fieldSchema(ENVELOPE_FIELDS.room),
          seq: fieldSchema(ENVELOPE_FIELDS.seq),
          epoch: fieldSchema(ENVELOPE_FIELDS.epoch),
        }),
        ...(frame.data !== undefined && { data: frame.data }),
        timestamp: fieldSchema(ENVELOPE_FIELDS.timestamp),
      },
    };
    const example = frame.example !== undefined && {
      examples: [
        {
          name: frame.type,
          payload: {
            type: frame.type,
            ...(room && { room: 'general', seq: 42, epoch: 'Zk3x' }),
            data: frame.example,
            timestamp: EXAMPLE_TIMESTAMP,
          },
        },
      ],
    };
    return {
      name: frame.type,
      title: frame.type,
      ...(frame.summary !== '' && { summary: frame.summary }),
      ...(frame.description !== undefined && { description: frame.description }),
      payload,
      ...(frame.correlated && { correlationId: REQUEST_ID }),
      ...example,
      ...(frame.builtin && { tags: BUILTIN_TAG }),
    };
  }

  private receiveOperation(message: ClientMessage, key: string): AsyncApiOperation {
    const answers = [...message.replies, ...message.errors].map(
      (type) => ({ $ref: `#/channels/${CHANNEL}/messages/server.${this.serverKeys.of(type)}` }) as AsyncApiReference,
    );
    return {
      action: 'receive',
      channel: CHANNEL_REF,
      title: message.type,
      ...(message.summary !== undefined && { summary: message.summary }),
      ...(message.description !== undefined && { description: message.description }),
      messages: [{ $ref: `#/channels/${CHANNEL}/messages/client.${key}` }],
      reply: { channel: CHANNEL_REF, messages: answers },
      ...(message.builtin && { tags: BUILTIN_TAG }),
    };
  }

  private sendOperation(frame: ServerFrame, key: string): AsyncApiOperation {
    const quote = (types: string[]) => types.map((type) => `\`${type}\``).join(', ');
    const origins = [
      ...(frame.type === 'connected' ? ['On every new connection, first.'] : []),
      ...(frame.type === 'auth_success' && this.endpoint.auth
        ? ['After `connected`, when a handshake token authenticated the connection.']
        : []),
      ...(frame.answers.length > 0 ? [`Answers ${quote(frame.answers)}, repeating its \`id\`.`] : []),
      ...(frame.causedBy.length > 0 ? [`Caused by ${quote(frame.causedBy)}.`] : []),
      ...(frame.roomBroadcast
        ? [
            'A room broadcast: to every member of the room on every node, with `room`, `seq` and `epoch`; kept in the room history and replayed by `resume`.',
          ]
        : []),
    ];
    return {
      action: 'send',
      channel: CHANNEL_REF,
      title: frame.type,
      ...(frame.summary !== '' && { summary: frame.summary }),
      ...(origins.length > 0 && { description: origins.join(' ') }),
      messages: [{ $ref: `#/channels/${CHANNEL}/messages/server.${key}` }],
      ...(frame.builtin && { tags: BUILTIN_TAG }),
    };
  }
}

const SECURITY_SCHEMES = {
  bearerToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: "A JWT in the upgrade request's `Authorization: Bearer` header (or later, the `auth` message).",
  },
  queryToken: {
    type: 'httpApiKey',
    name: 'token',
    in: 'query',
    description: 'A JWT in the query of the URL, `?token=<jwt>`, for clients that cannot set headers (browsers).',
  },
};

function joinText(description: string | undefined, notes: readonly string[]): string | undefined {
  const parts = [description, ...notes].filter((part): part is string => part !== undefined && part !== '');
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}

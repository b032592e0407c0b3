import { Reflector } from '@nestjs/core';
import type { MessageHandlerDefinition } from '../discovery/message-handler.definition.js';
import { RealtimeMetadataAccessor } from '../discovery/realtime-metadata.accessor.js';
import type { BuiltinMessageType } from '../interfaces/realtime-options.interface.js';
import { ErrorFrameType } from '../protocol/error-codes.js';
import type { ServerFrameMap } from '../protocol/server-frames.js';
import { IS_PUBLIC_METADATA, REQUIRED_ROLES_METADATA } from '../realtime.constants.js';
import { BUILTIN_MESSAGES, SERVER_FRAMES, type BuiltinMessageDoc, type ServerFrameDoc } from './builtin-messages.js';
import { handlerTypes } from './handler-types.js';
import { anyValue, type JsonSchema } from './json-schema.js';
import type { PayloadSchemas } from './payload-schemas.js';

/** What the document needs to know of the endpoint (the module's resolved options). */
export interface RealtimeEndpoint {
  path: string;
  /** `undefined`: no `auth` option (anonymous connections only). */
  auth: { required: boolean } | undefined;
}

/** A message a client sends, as documented. */
export interface ClientMessage {
  type: string;
  builtin: boolean;
  summary?: string;
  description?: string;
  /** `undefined`: the message takes no `data` (the built-in `ping`). */
  data: JsonSchema | undefined;
  example?: unknown;
  /** Frames that answer it, repeating its `id`, besides error frames. */
  replies: string[];
  /** Error frame types it may get. */
  errors: string[];
}

/** A frame the server sends, as documented. */
export interface ServerFrame extends ServerFrameDoc {
  type: string;
  builtin: boolean;
  /** The client messages it answers (with their `id`). */
  answers: string[];
  /** The client messages that cause it (to others, or to the sender as a member), without their `id`. */
  causedBy: string[];
}

/** The error frame types, in the order the document lists them. */
export const ERROR_FRAMES: readonly string[] = [
  ErrorFrameType.ERROR,
  ErrorFrameType.AUTH_ERROR,
  ErrorFrameType.AUTHORIZATION_ERROR,
];

/** The built-in types in the order the document lists them (the catalog's). */
const BUILTIN_ORDER = Object.keys(BUILTIN_MESSAGES);

function byType(a: MessageHandlerDefinition, b: MessageHandlerDefinition): number {
  if (a.builtin !== b.builtin) return a.builtin ? -1 : 1;
  if (a.builtin) return BUILTIN_ORDER.indexOf(a.type) - BUILTIN_ORDER.indexOf(b.type);
  return a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
}

function joinText(description: string | undefined, notes: readonly string[]): string | undefined {
  const parts = [description, ...notes].filter((part): part is string => part !== undefined && part !== '');
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}

/**
 * What the handlers say, as the messages a client sends and the frames the server sends: a
 * built-in's from the catalog (builtin-messages.ts), an application handler's from its
 * `@MessageData()` type, `@MessageDoc()` and `@OnMessage` reply type; `@Public`,
 * `@RequireRoles` and `concurrent` as notes. Built-ins come first, in the catalog's order, then
 * the application's messages by type; frames in the order first named, errors last: the output
 * is stable for a stable app.
 */
export function handlerMessages(
  handlers: readonly MessageHandlerDefinition[],
  endpoint: RealtimeEndpoint,
  payloads: PayloadSchemas,
): { messages: ClientMessage[]; frames: ServerFrame[] } {
  const collector = new MessageCollector(endpoint, payloads);
  collector.frame('connected');
  if (endpoint.auth) collector.frame('auth_success');
  const messages = [...handlers].sort(byType).map((handler) => collector.message(handler));
  return { messages, frames: collector.frames() };
}

class MessageCollector {
  private readonly reflector = new Reflector();
  private readonly accessor = new RealtimeMetadataAccessor(this.reflector);
  private readonly byType = new Map<string, ServerFrame>();
  private readonly errorFrames = new Set<string>([ErrorFrameType.ERROR]);

  constructor(
    private readonly endpoint: RealtimeEndpoint,
    private readonly payloads: PayloadSchemas,
  ) {}

  message(handler: MessageHandlerDefinition): ClientMessage {
    const method = (handler.instance as Record<string, (...args: unknown[]) => unknown>)[handler.methodName]!;
    const targets = [method, handler.instance.constructor];
    const notes: string[] = [];
    const errors = new Set<string>([ErrorFrameType.ERROR]);
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_METADATA, targets) === true;
    if (this.endpoint.auth?.required && !isPublic) {
      notes.push('Needs an authenticated connection (`error AUTH_REQUIRED` otherwise).');
    }
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

  /** Every frame named so far, the error frames last. */
  frames(): ServerFrame[] {
    for (const type of ERROR_FRAMES) if (this.errorFrames.has(type)) this.frame(type);
    return [...this.byType.values()];
  }

  /** The frame of `type`, created on first use (a built-in's from the catalog). */
  frame(type: string, { builtin = true } = {}): ServerFrame {
    let frame = this.byType.get(type);
    if (frame === undefined) {
      const doc: ServerFrameDoc | undefined = builtin ? SERVER_FRAMES[type as keyof ServerFrameMap] : undefined;
      frame = { summary: '', data: undefined, ...doc, type, builtin: doc !== undefined, answers: [], causedBy: [] };
      this.byType.set(type, frame);
    }
    return frame;
  }

  private builtinMessage(handler: MessageHandlerDefinition, doc: BuiltinMessageDoc): Omit<ClientMessage, 'errors'> {
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
    const doc = this.accessor.getMessageDoc(method) ?? {};
    const types = handlerTypes(handler.instance, handler.methodName);
    const toRoom = doc.replyTo === 'room';
    const reply = this.frame(handler.reply, { builtin: false });
    const replyData =
      doc.replyType !== undefined ? this.payloads.ofClass(doc.replyType) : this.payloads.ofReturnType(types.returns);
    // An application's reply frame is documented by its handler; a built-in frame of the same
    // type keeps the catalog's schema unless the handler gives one.
    if (!reply.builtin || replyData !== undefined) {
      Object.assign(reply, {
        summary: reply.builtin ? reply.summary : `The ${toRoom ? 'broadcast' : 'reply'} of \`${handler.type}\`.`,
        data: replyData ?? (reply.builtin ? reply.data : anyValue()),
        example: doc.replyExample ?? reply.example,
        roomBroadcast: reply.roomBroadcast === true || toRoom,
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
}

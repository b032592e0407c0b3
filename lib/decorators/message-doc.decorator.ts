import { MESSAGE_DOC_METADATA } from '../realtime.constants.js';

/** A class whose instances describe a payload (usually decorated with `class-validator`). */
export type PayloadClass = abstract new (...args: never[]) => unknown;

/** Options of {@link MessageDoc}: what the AsyncAPI document says about a message handler. */
export interface MessageDocOptions {
  /** One line: what the message does (the AsyncAPI message's and operation's `summary`). */
  summary?: string;
  /** More, in CommonMark (the AsyncAPI `description`). */
  description?: string;
  /** An example of the message's `data`, shown with the message. */
  example?: unknown;
  /**
   * The class that describes the reply's `data`, read like a payload DTO (its `class-validator`
   * decorators become the JSON schema).
   * @default the method's declared return type, when it is such a class (not a `Promise`)
   */
  replyType?: PayloadClass;
  /** An example of the reply's `data`. */
  replyExample?: unknown;
  /**
   * Who receives the reply type: `'sender'`, as the reply carrying the request `id`; or `'room'`:
   * the handler broadcasts it to a room with `RoomManager.broadcast` (so it carries `room`, `seq`
   * and `epoch`, and no `id`), as the built-in `chat` does with `chat_message`.
   * @default 'sender'
   */
  replyTo?: 'sender' | 'room';
}

/**
 * Documents an `@OnMessage` handler for the AsyncAPI document of `nest-realtime/asyncapi`. The
 * message's payload schema needs no decorator: it comes from the handler's `@MessageData()`
 * parameter type (its `class-validator` decorators). Only records metadata — the main entry
 * never loads the document builder.
 */
export function MessageDoc(options: MessageDocOptions): MethodDecorator {
  return (target, key, descriptor) => {
    Reflect.defineMetadata(MESSAGE_DOC_METADATA, { ...options }, descriptor.value as object);
    return descriptor;
  };
}
MessageDoc.KEY = MESSAGE_DOC_METADATA;

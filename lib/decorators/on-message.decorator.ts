import { ON_MESSAGE_METADATA } from '../realtime.constants.js';
import { isValidMessageType } from '../protocol/codec.js';

/** Options of {@link OnMessage}. */
export interface OnMessageOptions {
  /**
   * `type` of the reply frame built from the handler's return value.
   * @default `${type}_response`
   */
  reply?: string;
  /**
   * Lets the connection's later messages start before this handler completes. By default a
   * connection's messages are handled one at a time, in the order received (PROTOCOL.md,
   * "Ordering"): a handler's effects and reply come before the next message is looked at. Set it
   * for slow, independent handlers (a long search, an RPC to another service) whose effects no
   * later message depends on; the reply still carries the request `id`, but may come after the
   * replies to later messages.
   * @default false
   */
  concurrent?: boolean;
}

/** What `@OnMessage` records on a method; read back by the handler explorer. */
export interface OnMessageMetadata {
  type: string;
  reply: string;
  concurrent: boolean;
}

/**
 * Routes inbound messages of `type` to the decorated method. Works on any provider or
 * controller, not only gateway classes, and runs through the guards, interceptors, pipes and
 * exception filters attached to the method or its class. Stackable: one method may serve several
 * types. The method's return value (or resolved Promise / last Observable value) is sent back to
 * the sender as `options.reply`, carrying the request `id`.
 */
export function OnMessage(type: string, options: OnMessageOptions = {}): MethodDecorator {
  if (!isValidMessageType(type)) {
    throw new TypeError(`@OnMessage('${String(type)}'): a type is 1..64 characters of [A-Za-z0-9_.:-]`);
  }
  const reply = options.reply ?? `${type}_response`;
  if (!isValidMessageType(reply)) {
    throw new TypeError(`@OnMessage('${type}'): reply type '${String(reply)}' is not a valid type`);
  }
  return (target, key, descriptor) => {
    const method = descriptor.value as object;
    const existing: OnMessageMetadata[] = Reflect.getMetadata(ON_MESSAGE_METADATA, method) ?? [];
    Reflect.defineMetadata(
      ON_MESSAGE_METADATA,
      [...existing, { type, reply, concurrent: options.concurrent === true }],
      method,
    );
    return descriptor;
  };
}
OnMessage.KEY = ON_MESSAGE_METADATA;

import { Injectable } from '@nestjs/common';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import type { Envelope } from '../protocol/envelope.js';
import type { MessageHandlerDefinition } from './message-handler.definition.js';

/**
 * Calls one handler for one message. Returns the handler's result: a value, a Promise or an
 * Observable (the dispatcher turns it into the reply), or `undefined` for no reply.
 */
export type HandlerInvoker = (connection: RealtimeConnection, message: Envelope) => unknown;

/** A handler ready to be called on the hot path. */
export interface RegisteredHandler extends MessageHandlerDefinition {
  invoke: HandlerInvoker;
  /** True when the handler is called directly (no enhancers apply to it). */
  direct: boolean;
}

/**
 * Message type → handler. Filled once at bootstrap, read on every message: a plain `Map`
 * lookup is the whole routing cost.
 */
@Injectable()
export class MessageHandlerRegistry {
  private readonly handlers = new Map<string, RegisteredHandler>();

  /**
   * Adds a handler; one per type, as `selectHandlers` chose them (which built-in yields, which
   * pair of application handlers is an error). A second one for a type is a bug of the caller.
   */
  register(handler: RegisteredHandler): void {
    if (this.handlers.has(handler.type)) {
      throw new Error(`MessageHandlerRegistry: '${handler.type}' is registered twice (selectHandlers() first)`);
    }
    this.handlers.set(handler.type, handler);
  }

  get(type: string): RegisteredHandler | undefined {
    return this.handlers.get(type);
  }

  /** Registered message types. */
  types(): string[] {
    return [...this.handlers.keys()];
  }

  clear(): void {
    this.handlers.clear();
  }
}

import { Injectable } from '@nestjs/common';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import type { Envelope } from '../protocol/envelope.js';
import { Messages } from '../realtime.messages.js';
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
   * Adds a handler. An application handler replaces a built-in of the same type; two application
   * handlers for one type are a configuration error that names both.
   */
  register(handler: RegisteredHandler): void {
    const existing = this.handlers.get(handler.type);
    if (existing) {
      if (handler.builtin) return;
      if (!existing.builtin) {
        throw new Error(Messages.duplicateHandler(handler.type, existing.label, handler.label));
      }
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

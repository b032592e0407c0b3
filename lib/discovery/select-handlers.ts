import type { BuiltinMessageType } from '../interfaces/realtime-options.interface.js';
import { Messages } from '../realtime.messages.js';
import type { MessageHandlerDefinition } from './message-handler.definition.js';

/**
 * The handlers an application routes to, one per message type, from what the explorer found:
 * a built-in switched off with the `builtins` option is dropped, a built-in yields to an
 * application handler of the same type, and two application handlers for one type are a
 * configuration error that names both. One rule for the router (filled at bootstrap) and for
 * whatever describes the routes (the AsyncAPI document, built before bootstrap).
 */
export function selectHandlers(
  found: readonly MessageHandlerDefinition[],
  builtins: Readonly<Record<BuiltinMessageType, boolean>>,
): MessageHandlerDefinition[] {
  const selected = new Map<string, MessageHandlerDefinition>();
  for (const handler of found) {
    if (handler.builtin && !builtins[handler.type as BuiltinMessageType]) continue;
    const existing = selected.get(handler.type);
    if (existing) {
      if (handler.builtin) continue;
      if (!existing.builtin) throw new Error(Messages.duplicateHandler(handler.type, existing.label, handler.label));
    }
    selected.set(handler.type, handler);
  }
  return [...selected.values()];
}

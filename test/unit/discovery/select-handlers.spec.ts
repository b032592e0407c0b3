import { describe, expect, it } from '@jest/globals';
import type { MessageHandlerDefinition } from '../../../lib/discovery/message-handler.definition.js';
import { selectHandlers } from '../../../lib/discovery/select-handlers.js';
import type { BuiltinMessageType } from '../../../lib/interfaces/realtime-options.interface.js';
import { BUILTIN_TYPES } from '../../../lib/options/resolve-options.js';

const allOn = Object.fromEntries(BUILTIN_TYPES.map((type) => [type, true])) as Record<BuiltinMessageType, boolean>;

function handler(type: string, label: string, builtin = false): MessageHandlerDefinition {
  return { type, reply: `${type}_response`, concurrent: false, instance: {}, methodName: 'm', label, builtin };
}

describe('selectHandlers', () => {
  it('keeps one handler per type, an application handler over a built-in in either order', () => {
    const selected = selectHandlers(
      [handler('ping', 'Builtin.ping', true), handler('ping', 'App.ping'), handler('echo', 'App.echo')].concat(
        handler('echo', 'Builtin.echo', true),
      ),
      allOn,
    );
    expect(selected.map(({ type, label }) => [type, label])).toEqual([
      ['ping', 'App.ping'],
      ['echo', 'App.echo'],
    ]);
  });

  it('drops a built-in switched off, but not an application handler of that type', () => {
    const off = { ...allOn, ping: false, echo: false };
    const selected = selectHandlers([handler('ping', 'Builtin.ping', true), handler('echo', 'App.echo')], off);
    expect(selected.map(({ label }) => label)).toEqual(['App.echo']);
  });

  it('refuses two application handlers for one type, naming both', () => {
    expect(() => selectHandlers([handler('note', 'A.note'), handler('note', 'B.note')], allOn)).toThrow(
      "Two @OnMessage('note') handlers: A.note and B.note",
    );
  });
});

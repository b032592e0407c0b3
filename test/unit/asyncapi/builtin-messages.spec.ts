import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_MESSAGES, SERVER_FRAMES } from '../../../lib/asyncapi/builtin-messages.js';
import { AuthMessageHandler } from '../../../lib/auth/auth-message.handler.js';
import { BuiltinMessageHandlers } from '../../../lib/builtins/builtin-message.handlers.js';
import { DirectMessageHandlers } from '../../../lib/builtins/direct-message.handlers.js';
import { ResumeMessageHandler } from '../../../lib/builtins/resume-message.handler.js';
import { RoomMessageHandlers } from '../../../lib/builtins/room-message.handlers.js';
import type { OnMessageMetadata } from '../../../lib/decorators/on-message.decorator.js';
import { BUILTIN_TYPES } from '../../../lib/options/resolve-options.js';
import { ON_MESSAGE_METADATA } from '../../../lib/realtime.constants.js';

/** Every `@OnMessage` binding of the module's built-in handler classes. */
function builtinBindings(): OnMessageMetadata[] {
  return [AuthMessageHandler, BuiltinMessageHandlers, DirectMessageHandlers, ResumeMessageHandler, RoomMessageHandlers]
    .flatMap((type) =>
      Object.getOwnPropertyNames(type.prototype).map(
        (name) =>
          Reflect.getMetadata(ON_MESSAGE_METADATA, (type.prototype as unknown as Record<string, object>)[name]!) as
            OnMessageMetadata[] | undefined,
      ),
    )
    .flat()
    .filter((binding): binding is OnMessageMetadata => binding !== undefined);
}

const protocol = readFileSync(join(process.cwd(), 'PROTOCOL.md'), 'utf8');

// The catalog of built-in messages is written by hand (the built-ins take no DTO); its types are
// checked against lib/protocol/ by the compiler, and its routes against the handlers here.
describe('the AsyncAPI catalog of built-in messages', () => {
  it('documents exactly the built-in handlers, each with the frame its @OnMessage declares', () => {
    const bindings = builtinBindings();
    expect(bindings.map(({ type }) => type).sort()).toEqual([...BUILTIN_TYPES].sort());
    expect(Object.keys(BUILTIN_MESSAGES).sort()).toEqual([...BUILTIN_TYPES].sort());
    for (const { type, reply } of bindings) {
      const doc = BUILTIN_MESSAGES[type as keyof typeof BUILTIN_MESSAGES];
      expect({ type, frames: [...doc.replies, ...doc.causes] }).toEqual({
        type,
        frames: expect.arrayContaining([reply]),
      });
    }
  });

  it('names only frames it documents, and every frame it documents is in PROTOCOL.md', () => {
    for (const doc of Object.values(BUILTIN_MESSAGES)) {
      for (const frame of [...doc.replies, ...doc.causes]) expect(Object.keys(SERVER_FRAMES)).toContain(frame);
    }
    for (const type of [...Object.keys(SERVER_FRAMES), ...Object.keys(BUILTIN_MESSAGES)]) {
      expect(protocol).toMatch(new RegExp(`\\b${type}\\b`));
    }
  });
});

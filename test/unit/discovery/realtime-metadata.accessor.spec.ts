import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Reflector } from '@nestjs/core';
import { BuiltinHandlers } from '../../../lib/decorators/builtin-handlers.decorator.js';
import { RealtimeMetadataAccessor } from '../../../lib/discovery/realtime-metadata.accessor.js';

// The explorer tells the module's own handler classes (which yield to an app handler of the same
// type) by this mark instead of importing each class; a subclass counts, as `instanceof` did.
describe('RealtimeMetadataAccessor.isBuiltin', () => {
  const accessor = new RealtimeMetadataAccessor(new Reflector());

  @BuiltinHandlers()
  class MarkedHandlers {}
  class SubclassOfMarked extends MarkedHandlers {}
  class AppHandlers {}

  it('is true for a class marked @BuiltinHandlers() and its subclasses, false otherwise', () => {
    expect(accessor.isBuiltin(MarkedHandlers)).toBe(true);
    expect(accessor.isBuiltin(SubclassOfMarked)).toBe(true);
    expect(accessor.isBuiltin(AppHandlers)).toBe(false);
  });
});

import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Type } from 'class-transformer';
import { classTransformerStorage } from '../../../lib/internal/class-transformer.js';

class Item {}

class Holder {
  @Type(() => Item)
  items!: Item[];
}

/**
 * Pins what lib/internal/class-transformer.ts relies on in the installed class-transformer: the
 * storage its deep import names is the one the public `@Type()` decorator writes to (a copy
 * would leave nested arrays without their item schemas in the AsyncAPI document).
 */
describe('class-transformer metadata storage (lib/internal/class-transformer.ts)', () => {
  it('holds what the public @Type() decorator recorded', () => {
    const metadata = classTransformerStorage.findTypeMetadata(Holder, 'items');
    expect(metadata?.typeFunction()).toBe(Item);
  });
});

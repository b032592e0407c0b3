import { describe, expect, it } from '@jest/globals';
import { integer, objectOf, optional, string } from '../../../lib/asyncapi/json-schema.js';

interface Sample {
  name: string;
  count?: number;
  note: string | undefined;
}

// objectOf<T>() is what keeps the hand-written schemas of the built-in frames true to the wire
// types of lib/protocol/: the lines marked @ts-expect-error are checked by `npm run lint` (tsc),
// which fails if one of them compiles — i.e. if the builder stopped catching that mistake.
describe('objectOf', () => {
  it('lists as required exactly the fields the type does not let be undefined', () => {
    expect(objectOf<Sample>({ name: string(), count: optional(integer()), note: optional(string('a note')) })).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string' },
        count: { type: 'integer' },
        note: { type: 'string', description: 'a note' },
      },
      required: ['name'],
    });
  });

  it('refuses at compile time a missing field, an extra one, and a wrong optionality', () => {
    // @ts-expect-error `note` is missing
    objectOf<Sample>({ name: string(), count: optional(integer()) });
    // @ts-expect-error `extra` is not a field of Sample
    objectOf<Sample>({ name: string(), count: optional(integer()), note: optional(string()), extra: string() });
    // @ts-expect-error `name` is required in Sample, so it cannot be optional here
    objectOf<Sample>({ name: optional(string()), count: optional(integer()), note: optional(string()) });
    // @ts-expect-error `count` is optional in Sample, so it must be marked optional
    objectOf<Sample>({ name: string(), count: integer(), note: optional(string()) });
    expect(true).toBe(true);
  });
});

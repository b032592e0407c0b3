import { isDeepStrictEqual } from 'node:util';
import { targetConstructorToSchema, validationMetadatasToSchemas } from 'class-validator-jsonschema';
import { classTransformerStorage } from '../internal/class-transformer.js';
import type { JsonSchema } from './json-schema.js';
import { Texts } from './asyncapi.messages.js';

const REF_PREFIX = '#/components/schemas/';

const PRIMITIVES = new Map<unknown, JsonSchema>([
  [String, { type: 'string' }],
  [Number, { type: 'number' }],
  [Boolean, { type: 'boolean' }],
  [Array, { type: 'array' }],
]);

/**
 * The JSON schemas of payload classes (DTOs), converted from their `class-validator` metadata by
 * `class-validator-jsonschema` — the maintained converter `@nestjs/swagger` users reach for, not
 * one of ours. A class becomes `{ $ref: '#/components/schemas/<ClassName>' }`, and
 * {@link components} holds the schemas of the classes used and of the nested classes they
 * reference (`@ValidateNested()`, with `@Type(() => Item)` for arrays).
 */
export class PayloadSchemas {
  private readonly options = {
    refPointerPrefix: REF_PREFIX,
    classTransformerMetadataStorage: classTransformerStorage,
  };
  /** Every class with class-validator metadata in the process, by class name (the converter's key). */
  private readonly all: Record<string, JsonSchema>;
  private readonly used = new Map<string, JsonSchema>();

  constructor() {
    this.all = validationMetadatasToSchemas(this.options) as Record<string, JsonSchema>;
  }

  /**
   * The schema of a value of the design type `type` (from `design:paramtypes` or
   * `design:returntype`): a primitive's, a `$ref` to a class's, or `undefined` when the type says
   * nothing (`Object` for `unknown`, an interface or a union; `Promise`).
   */
  of(type: unknown): JsonSchema | undefined {
    const primitive = PRIMITIVES.get(type);
    if (primitive) return { ...primitive };
    if (typeof type !== 'function' || type === Object || type === Promise) return undefined;
    return this.ofClass(type as abstract new (...args: never[]) => unknown);
  }

  /**
   * The schema of a declared return type, only when it says something: a primitive, or a class
   * with class-validator metadata (not `Promise`, `Observable`, `Reply` or a class of no DTO).
   */
  ofReturnType(type: unknown): JsonSchema | undefined {
    return PRIMITIVES.has(type) || this.describes(type) ? this.of(type) : undefined;
  }

  /** Whether `type` is a class with class-validator metadata (its own or inherited). */
  describes(type: unknown): boolean {
    return (
      typeof type === 'function' &&
      type !== Object &&
      !PRIMITIVES.has(type) &&
      Object.keys(this.convert(type)).length > 0
    );
  }

  /** A class's schema, as a reference: `{ type: 'object', title }` when it has no metadata. */
  ofClass(type: abstract new (...args: never[]) => unknown): JsonSchema {
    const name = type.name;
    const schema = this.convert(type);
    if (Object.keys(schema).length === 0) return { type: 'object', title: name };
    // The converter names schemas by class name: two classes of one name would share a schema.
    const known = this.used.get(name) ?? this.all[name];
    if (known !== undefined && !isDeepStrictEqual(known, schema)) throw new Error(Texts.sameClassName(name));
    this.add(name, schema);
    return { $ref: `${REF_PREFIX}${name}` };
  }

  /** The schemas referenced so far, by name, sorted (stable output). */
  components(): Record<string, JsonSchema> {
    return Object.fromEntries([...this.used.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  private convert(type: unknown): JsonSchema {
    return targetConstructorToSchema(type as new () => unknown, this.options) as JsonSchema;
  }

  private add(name: string, schema: JsonSchema): void {
    if (this.used.has(name)) return;
    this.used.set(name, schema);
    for (const nested of referencedNames(schema)) {
      // A nested class with no metadata of its own is not in the converter's output: an empty
      // object rather than a dangling reference.
      this.add(nested, this.all[nested] ?? { type: 'object', title: nested });
    }
  }
}

/** The names of the schemas `schema` references (`$ref` anywhere inside it). */
function referencedNames(schema: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) {
    for (const item of schema) referencedNames(item, found);
  } else if (typeof schema === 'object' && schema !== null) {
    for (const [key, value] of Object.entries(schema)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(REF_PREFIX)) {
        found.add(value.slice(REF_PREFIX.length));
      } else {
        referencedNames(value, found);
      }
    }
  }
  return found;
}

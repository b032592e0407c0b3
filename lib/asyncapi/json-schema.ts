/**
 * The JSON Schema subset the AsyncAPI document uses (AsyncAPI 3.0's default schema format is a
 * superset of JSON Schema draft 07), and a builder that checks a hand-written object schema
 * against the TypeScript type it describes: every field of the type has a schema, no other
 * field does, and a field is listed as required exactly when the type does not allow
 * `undefined`. The built-in frames' schemas are written with it against the wire types of
 * lib/protocol/, so a field added, renamed or made optional there fails the build here.
 */
export interface JsonSchema {
  $ref?: string;
  type?: 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';
  title?: string;
  description?: string;
  const?: unknown;
  enum?: readonly unknown[];
  examples?: readonly unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: readonly string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  maxProperties?: number;
  oneOf?: readonly JsonSchema[];
}

const OPTIONAL = Symbol('optional');

/** The schema of a field the type declares optional (`field?: T` or `T | undefined`). */
export interface OptionalField {
  readonly [OPTIONAL]: JsonSchema;
}

/** Marks a field's schema as optional; {@link objectOf} leaves it out of `required`. */
export function optional(schema: JsonSchema): OptionalField {
  return { [OPTIONAL]: schema };
}

/** The schema of a field, optional or not. */
export function fieldSchema(field: JsonSchema | OptionalField): JsonSchema {
  return OPTIONAL in field ? field[OPTIONAL] : field;
}

/**
 * One schema per field of `T`: an {@link OptionalField} for a field that may be `undefined`, a
 * plain {@link JsonSchema} for the others. (`JsonSchema` has only optional members, so TypeScript
 * refuses an `OptionalField` where a `JsonSchema` is expected, and the reverse.)
 */
export type FieldSchemas<T> = { [K in keyof T]-?: undefined extends T[K] ? OptionalField : JsonSchema };

/** An object schema of the type `T`, its `required` list derived from the fields' optionality. */
export function objectOf<T>(fields: FieldSchemas<T>, description?: string): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [name, field] of Object.entries(fields as Record<string, JsonSchema | OptionalField>)) {
    properties[name] = fieldSchema(field);
    if (!(OPTIONAL in field)) required.push(name);
  }
  return {
    type: 'object',
    ...(description !== undefined && { description }),
    properties,
    ...(required.length > 0 && { required }),
  };
}

/** `{ type: 'string', description }` and friends: the scalars, shortest to read in a schema file. */
export const string = (description?: string, more: JsonSchema = {}): JsonSchema => ({
  type: 'string',
  ...(description !== undefined && { description }),
  ...more,
});

export const integer = (description?: string, more: JsonSchema = {}): JsonSchema => ({
  type: 'integer',
  ...(description !== undefined && { description }),
  ...more,
});

export const arrayOf = (items: JsonSchema, description?: string): JsonSchema => ({
  type: 'array',
  ...(description !== undefined && { description }),
  items,
});

/** Any JSON value. */
export const anyValue = (description?: string): JsonSchema => (description === undefined ? {} : { description });

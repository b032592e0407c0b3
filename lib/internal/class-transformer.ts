/**
 * class-transformer's metadata storage: where its public `@Type(() => Item)` decorator records
 * the class of an array's items, which class-validator-jsonschema reads to give a nested array
 * `items: { $ref: Item }` (as its README shows). class-transformer exports the storage only from
 * a file of its build (`cjs/storage.js`, beside no type declarations: the types are in
 * `types/`). What breaks if that file moves: loading `nest-realtime/asyncapi` fails;
 * `test/unit/internal/class-transformer.spec.ts` pins that this is the storage `@Type()` writes
 * to, for the installed class-transformer.
 */
import type { MetadataStorage } from 'class-transformer/types/MetadataStorage.js';
// @ts-expect-error TS7016: no declarations next to cjs/ (they are types/storage.d.ts, typed below)
import { defaultMetadataStorage } from 'class-transformer/cjs/storage.js';

export const classTransformerStorage: MetadataStorage = defaultMetadataStorage;

/**
 * `nest-realtime/asyncapi`: the AsyncAPI 3.0 document of an app's WebSocket API, generated from
 * its handlers. An entry point of its own, so that an app that does not document its API never
 * loads the converter or its optional peer dependencies (`class-validator`,
 * `class-transformer`, `class-validator-jsonschema`, `yaml`); `@MessageDoc()` is on the main
 * entry point, since it only records metadata.
 */
export { RealtimeAsyncApiModule } from './realtime-asyncapi.module.js';
export { writeAsyncApiDocument } from './write-asyncapi-document.js';
export type {
  AsyncApiDocument,
  AsyncApiDocumentOptions,
  AsyncApiMessage,
  AsyncApiOperation,
  AsyncApiReference,
  AsyncApiServerOptions,
} from './asyncapi-document.js';
export type { JsonSchema } from './json-schema.js';

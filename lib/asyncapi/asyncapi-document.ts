import type { JsonSchema } from './json-schema.js';

/** A server of the document: where the WebSocket endpoint is reachable. */
export interface AsyncApiServerOptions {
  /** Host and port, e.g. `chat.example.com` or `localhost:3000`. */
  host: string;
  /** @default 'ws' */
  protocol?: 'ws' | 'wss';
  description?: string;
}

/** Options of `RealtimeAsyncApiModule.createDocument()`. */
export interface AsyncApiDocumentOptions {
  /** @default 'Realtime API' */
  title?: string;
  /** The version of your API (not of AsyncAPI). @default '1.0.0' */
  version?: string;
  /** Shown before the protocol's own introduction (CommonMark). */
  description?: string;
  /**
   * Where the endpoint runs, by name; the path is the module's `path` option.
   * @default { local: { host: 'localhost:3000', protocol: 'ws' } }
   */
  servers?: Record<string, AsyncApiServerOptions>;
}

/** A `$ref` to another part of the document. */
export interface AsyncApiReference {
  $ref: string;
}

/** An AsyncAPI Message Object, as this document writes them. */
export interface AsyncApiMessage {
  name: string;
  title: string;
  summary?: string;
  description?: string;
  payload: JsonSchema;
  correlationId?: AsyncApiReference;
  examples?: { name: string; payload: unknown }[];
  tags?: { name: string }[];
}

/** An AsyncAPI Operation Object, as this document writes them. */
export interface AsyncApiOperation {
  action: 'send' | 'receive';
  channel: AsyncApiReference;
  title: string;
  summary?: string;
  description?: string;
  messages: AsyncApiReference[];
  reply?: { channel: AsyncApiReference; messages: AsyncApiReference[] };
  tags?: { name: string }[];
}

/**
 * An AsyncAPI 3.0 document of a nest-realtime endpoint: plain JSON data (serialize it with
 * `JSON.stringify`, or `writeAsyncApiDocument` for a file). The parts this module writes are
 * typed; any AsyncAPI field may be added before serving it.
 */
export interface AsyncApiDocument {
  asyncapi: '3.0.0';
  info: { title: string; version: string; description?: string; [field: string]: unknown };
  defaultContentType: string;
  servers: Record<string, { host: string; protocol: string; description?: string; security?: AsyncApiReference[] }>;
  channels: Record<
    string,
    {
      address: string;
      title?: string;
      description?: string;
      messages: Record<string, AsyncApiReference>;
      bindings?: Record<string, unknown>;
    }
  >;
  operations: Record<string, AsyncApiOperation>;
  components: {
    schemas: Record<string, JsonSchema>;
    messages: Record<string, AsyncApiMessage>;
    correlationIds: Record<string, { description?: string; location: string }>;
    securitySchemes?: Record<string, Record<string, unknown>>;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

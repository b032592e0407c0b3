import type { MessageHandlerDefinition } from '../discovery/message-handler.definition.js';
import type { AsyncApiDocument, AsyncApiDocumentOptions, AsyncApiReference } from './asyncapi-document.js';
import { closeCodeTable, CONNECTION_FLOW, SHARED_SCHEMAS } from './builtin-messages.js';
import { handlerMessages, type RealtimeEndpoint } from './handler-messages.js';
import { MessageKeys } from './message-keys.js';
import {
  CHANNEL,
  clientMessageObject,
  receiveOperation,
  sendOperation,
  serverMessageObject,
} from './message-objects.js';
import { PayloadSchemas } from './payload-schemas.js';

export type { RealtimeEndpoint } from './handler-messages.js';

const SECURITY_SCHEMES = {
  bearerToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: "A JWT in the upgrade request's `Authorization: Bearer` header (or later, the `auth` message).",
  },
  queryToken: {
    type: 'httpApiKey',
    name: 'token',
    in: 'query',
    description: 'A JWT in the query of the URL, `?token=<jwt>`, for clients that cannot set headers (browsers).',
  },
};

const HANDSHAKE_TOKEN = 'A JWT authenticating the connection at the handshake (or send `auth` later).';

/**
 * Builds the AsyncAPI 3.0 document of an endpoint from the handlers it routes to: the servers,
 * one channel (the WebSocket endpoint, at the module's `path`), a `receive` operation per message
 * type a client may send (its reply and error frames as the operation's `reply`), a `send`
 * operation per frame the server sends, and their messages with payload schemas — the shared
 * ones and the built-ins' from builtin-messages.ts, the application's DTOs' from
 * class-validator-jsonschema.
 */
export function buildAsyncApiDocument(
  handlers: readonly MessageHandlerDefinition[],
  endpoint: RealtimeEndpoint,
  options: AsyncApiDocumentOptions = {},
): AsyncApiDocument {
  const payloads = new PayloadSchemas();
  const { messages, frames } = handlerMessages(handlers, endpoint, payloads);
  const clientKeys = new MessageKeys();
  const serverKeys = new MessageKeys();
  const clientKey = (type: string) => `client.${clientKeys.of(type)}`;
  const serverKey = (type: string) => `server.${serverKeys.of(type)}`;

  const document: AsyncApiDocument = {
    asyncapi: '3.0.0',
    info: {
      title: options.title ?? 'Realtime API',
      version: options.version ?? '1.0.0',
      description: options.description ? `${options.description}\n\n${CONNECTION_FLOW}` : CONNECTION_FLOW,
    },
    defaultContentType: 'application/json',
    servers: servers(options, endpoint),
    channels: {},
    operations: {},
    components: {
      schemas: { ...SHARED_SCHEMAS, ...payloads.components() },
      messages: {},
      correlationIds: {
        requestId: {
          description: 'The `id` a client gave its message, repeated by every reply and error it causes.',
          location: '$message.payload#/id',
        },
      },
      ...(endpoint.auth && { securitySchemes: SECURITY_SCHEMES }),
    },
  };
  const channelMessages: Record<string, AsyncApiReference> = {};
  for (const message of messages) {
    const key = clientKey(message.type);
    document.components.messages[key] = clientMessageObject(message);
    channelMessages[key] = { $ref: `#/components/messages/${key}` };
  }
  for (const frame of frames) {
    const key = serverKey(frame.type);
    document.components.messages[key] = serverMessageObject(frame);
    channelMessages[key] = { $ref: `#/components/messages/${key}` };
  }
  document.channels[CHANNEL] = {
    address: endpoint.path,
    title: 'WebSocket endpoint',
    description:
      'Every message of the API, in both directions, goes through this one WebSocket endpoint: one ' +
      `JSON envelope per text frame.\n\nWhen the server closes the connection, the close code says why:\n\n${closeCodeTable()}`,
    messages: channelMessages,
    bindings: { ws: wsBinding(endpoint) },
  };
  for (const message of messages) {
    const key = clientKeys.of(message.type);
    document.operations[`receive.${key}`] = receiveOperation(message, clientKey(message.type), serverKey);
  }
  for (const frame of frames) {
    const key = serverKeys.of(frame.type);
    document.operations[`send.${key}`] = sendOperation(frame, serverKey(frame.type), endpoint.auth !== undefined);
  }
  return document;
}

function servers(options: AsyncApiDocumentOptions, endpoint: RealtimeEndpoint): AsyncApiDocument['servers'] {
  const configured = options.servers ?? { local: { host: 'localhost:3000', protocol: 'ws' } };
  const security = Object.keys(SECURITY_SCHEMES).map((scheme) => ({ $ref: `#/components/securitySchemes/${scheme}` }));
  return Object.fromEntries(
    Object.entries(configured).map(([name, server]) => [
      name,
      {
        host: server.host,
        protocol: server.protocol ?? 'ws',
        ...(server.description !== undefined && { description: server.description }),
        ...(endpoint.auth && { security }),
      },
    ]),
  );
}

/** The WebSocket binding of the channel: the upgrade request, with where a handshake token goes. */
function wsBinding(endpoint: RealtimeEndpoint): Record<string, unknown> {
  return {
    method: 'GET',
    ...(endpoint.auth && {
      query: { type: 'object', properties: { token: { type: 'string', description: HANDSHAKE_TOKEN } } },
      headers: {
        type: 'object',
        properties: { Authorization: { type: 'string', pattern: '^Bearer ', description: HANDSHAKE_TOKEN } },
      },
    }),
    bindingVersion: '0.1.0',
  };
}

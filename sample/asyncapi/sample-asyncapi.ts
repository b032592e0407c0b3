import type { INestApplication } from '@nestjs/common';
import { RealtimeAsyncApiModule, type AsyncApiDocument } from '../../lib/asyncapi/index.js';

/** The sample's AsyncAPI document: one definition for the served one and the committed file. */
export function sampleAsyncApiDocument(app: INestApplication): AsyncApiDocument {
  return RealtimeAsyncApiModule.createDocument(app, {
    title: 'nest-realtime chat sample',
    version: '1.0.0',
    description:
      'The WebSocket API of the sample chat (`npm run start:sample`): the built-in messages of ' +
      'nest-realtime and the sample’s own `reaction`.',
    servers: { local: { host: 'localhost:3000', protocol: 'ws', description: '`npm run start:sample`' } },
  });
}

/** Serves the document at `GET /asyncapi.json` and `GET /asyncapi.yaml`; call it before `listen()`. */
export function serveSampleAsyncApi(app: INestApplication): void {
  RealtimeAsyncApiModule.setup('asyncapi', app, sampleAsyncApiDocument(app));
}

import 'reflect-metadata';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { writeAsyncApiDocument } from '../../lib/asyncapi/index.js';
import { AppModule } from '../app.module.js';
import { projectRoot } from '../project-root.js';
import { loadSampleConfig } from '../sample.config.js';
import { sampleAsyncApiDocument } from './sample-asyncapi.js';

/** Where `npm run asyncapi:sample` writes the document (committed; a test checks it is current). */
export const SAMPLE_ASYNCAPI_FILE = join(projectRoot(), 'sample', 'asyncapi', 'asyncapi.yaml');

// The app is created, not started: the document needs its handlers, not a port or a Redis. The
// secret is a placeholder (the document does not depend on it) that spares the dev-secret warning.
const config = loadSampleConfig({ JWT_SECRET: 'asyncapi-document-only', LOG_LEVEL: 'error' });
const app = await NestFactory.create(AppModule.register(config), { logger: ['error'] });
try {
  await writeAsyncApiDocument(sampleAsyncApiDocument(app), SAMPLE_ASYNCAPI_FILE);
  console.log(`AsyncAPI document written to ${SAMPLE_ASYNCAPI_FILE}`);
} finally {
  await app.close();
}

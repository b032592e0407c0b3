import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { loadSampleConfig } from './sample.config.js';

async function bootstrap(): Promise<void> {
  const config = loadSampleConfig();
  const app = await NestFactory.create(AppModule.register(config));
  // SIGTERM / SIGINT → app.close(): connections get 1012 and reconnect elsewhere.
  app.enableShutdownHooks();
  await app.listen(config.port);
  new Logger('Sample').log(`Chat sample on http://localhost:${config.port} (WebSocket at /ws)`);
}

void bootstrap();

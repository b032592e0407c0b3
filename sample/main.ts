import 'reflect-metadata';
import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { serveSampleAsyncApi } from './asyncapi/sample-asyncapi.js';
import { loadSampleConfig } from './sample.config.js';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** `LOG_LEVEL=debug` shows one line per connection event; the default stops at `log`. */
function logLevels(level: string): LogLevel[] {
  const index = LEVELS.indexOf(level as LogLevel);
  return LEVELS.slice(0, (index === -1 ? LEVELS.indexOf('log') : index) + 1);
}

async function bootstrap(): Promise<void> {
  const config = loadSampleConfig();
  const app = await NestFactory.create(AppModule.register(config), { logger: logLevels(config.logLevel) });
  // SIGTERM / SIGINT → app.close(): connections get 1012 and reconnect elsewhere.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  // GET /asyncapi.json and /asyncapi.yaml: the WebSocket API, generated from the handlers.
  serveSampleAsyncApi(app);
  // Nest passes the arguments after the port on to http.Server.listen(port, host, backlog): no host
  // (every interface, as app.listen(port) does), and a backlog for reconnect herds. Its typings
  // only know (port, hostname).
  const listen = app.listen.bind(app) as (port: number, host: undefined, backlog: number) => Promise<unknown>;
  await listen(config.port, undefined, config.listenBacklog);
  new Logger('Sample').log(`Chat sample on http://localhost:${config.port} (WebSocket at /ws)`);
}

bootstrap().catch((error: unknown) => {
  // A configuration the sample refuses (NODE_ENV=production without JWT_SECRET, or with
  // DEV_LOGIN=1), or a port in use: say why and exit non-zero.
  new Logger('Sample').fatal(error instanceof Error ? error.message : String(error));
  process.exit(1);
});

// The sample app (`dist-sample/sample`, built by `npm run bench`) started as `sample/main.ts`
// starts it, with the benchmark's knobs on top of its own environment variables:
//   HISTORY=off   rooms: { historySize: 0 } (no room history for resume; on by default)
//   WRITE_DELAY=n writeDelay: n (ms a connection's writes may wait to be batched; 0 by default)
// The knob is applied to the options the sample gives `RealtimeModule.forRoot`, so everything
// else (JWT auth, rate limiter, REDIS_URL cluster adapter, controllers) is the sample's own.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../dist-sample/sample/app.module.js';
import { loadSampleConfig } from '../../dist-sample/sample/sample.config.js';
import { RealtimeModule } from '../../dist-sample/lib/index.js';
// Tokens of the module's internals (not public API): a benchmark knob reaches into the module.
import { RESOLVED_REALTIME_OPTIONS } from '../../dist-sample/lib/realtime.constants.js';
import { REALTIME_MODULE_OPTIONS } from '../../dist-sample/lib/realtime.module-definition.js';

const overrides = {};
if (process.env.HISTORY === 'off') overrides.rooms = { historySize: 0 };
if (process.env.WRITE_DELAY !== undefined) overrides.writeDelay = Number(process.env.WRITE_DELAY);

const config = loadSampleConfig();
const root = AppModule.register(config);
if (Object.keys(overrides).length > 0) {
  const realtime = root.imports.find((m) => m.module === RealtimeModule);
  const options = realtime?.providers.find((p) => p.provide === REALTIME_MODULE_OPTIONS);
  if (!options || !('useValue' in options)) throw new Error('sample-knobs: RealtimeModule options not found');
  options.useValue = { ...options.useValue, ...overrides };
}

const LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
const level = LEVELS.indexOf(config.logLevel);
const app = await NestFactory.create(root, { logger: LEVELS.slice(0, (level === -1 ? 3 : level) + 1) });
// The knob must have reached the module: a benchmark of the wrong configuration is worse than none.
const historySize = app.get(RESOLVED_REALTIME_OPTIONS).rooms('fanout').historySize;
if ((process.env.HISTORY === 'off') !== (historySize === 0)) {
  throw new Error(`sample-knobs: HISTORY=${process.env.HISTORY ?? ''} but historySize is ${historySize}`);
}
const writeDelay = app.get(RESOLVED_REALTIME_OPTIONS).writeDelay;
if (writeDelay !== Number(process.env.WRITE_DELAY ?? 0)) {
  throw new Error(`sample-knobs: WRITE_DELAY=${process.env.WRITE_DELAY ?? ''} but writeDelay is ${writeDelay}`);
}
app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
await app.listen(config.port);

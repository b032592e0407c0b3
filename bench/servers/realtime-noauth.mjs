// The module without authentication or rate limiting: the "unauthenticated path" against which
// the sample's authenticated path is compared. Uses the compiled library of `npm run bench`.
// METRICS=off: no Prometheus metrics; HISTORY=off: rooms: { historySize: 0 } (no room history).
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RealtimeModule } from '../../dist-sample/lib/index.js';

class BenchModule {}
Module({
  imports: [
    RealtimeModule.forRoot({
      rateLimit: false,
      maxConnections: Number(process.env.MAX_CONNECTIONS ?? 20000),
      metrics: process.env.METRICS !== 'off',
      ...(process.env.HISTORY === 'off' ? { rooms: { historySize: 0 } } : {}),
    }),
  ],
})(BenchModule);

const app = await NestFactory.create(BenchModule, { logger: ['error', 'warn'] });
app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
await app.listen(Number(process.env.PORT ?? 3200), '127.0.0.1');

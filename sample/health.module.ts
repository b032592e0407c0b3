import { type DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { RealtimeHealthIndicator } from '../lib/terminus/index.js';
import { EVENT_LOOP_MAX_DELAY_MS, HealthController } from './health.controller.js';

/** `GET /health` (PROTOCOL.md's contract), and Terminus's readiness and liveness routes. */
@Module({})
export class HealthModule {
  static register(eventLoopMaxDelayMs: number): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot()],
      controllers: [HealthController],
      providers: [RealtimeHealthIndicator, { provide: EVENT_LOOP_MAX_DELAY_MS, useValue: eventLoopMaxDelayMs }],
    };
  }
}

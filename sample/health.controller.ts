import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { RealtimeHealth, type RealtimeHealthReport } from '../lib/index.js';
import { RealtimeHealthIndicator } from '../lib/terminus/index.js';

/** `EVENT_LOOP_MAX_DELAY_MS`: the readiness threshold of the event loop's p99 delay. */
export const EVENT_LOOP_MAX_DELAY_MS = Symbol('EVENT_LOOP_MAX_DELAY_MS');

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: RealtimeHealth,
    private readonly checks: HealthCheckService,
    private readonly realtime: RealtimeHealthIndicator,
    @Inject(EVENT_LOOP_MAX_DELAY_MS) private readonly eventLoopMaxDelayMs: number,
  ) {}

  /**
   * PROTOCOL.md's `/health`: 200 while serving (`ok`, or `degraded` while Redis is down: this
   * node still serves its clients), 503 while draining.
   */
  @Get()
  check(@Res({ passthrough: true }) response: { status(code: number): unknown }): RealtimeHealthReport {
    const report = this.health.check();
    if (report.status === 'draining') response.status(HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }

  /**
   * Readiness, for a load balancer: 503 from the start of shutdown (through `DRAIN_DELAY_MS`,
   * before any client gets 1012), when the node is full, while Redis is down (its new clients
   * would reach no one on other nodes), or while the event loop lags.
   */
  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.checks.check([
      () => this.realtime.isAccepting('realtime'),
      () => this.realtime.hasCapacity('connections'),
      () => this.realtime.isRedisUp('redis'),
      // EVENT_LOOP_MAX_DELAY_MS=0: no bound, so no check.
      ...(this.eventLoopMaxDelayMs > 0
        ? [() => this.realtime.isEventLoopResponsive('event_loop', { maxDelayMs: this.eventLoopMaxDelayMs })]
        : []),
    ]);
  }

  /**
   * Liveness: the process answers. Nothing a restart would not fix makes it fail — not a
   * drain, a full node, Redis or load — so an orchestrator never kills a node for those.
   */
  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.checks.check([]);
  }
}

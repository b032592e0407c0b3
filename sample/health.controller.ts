import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { RealtimeHealth, type RealtimeHealthReport } from '../lib/index.js';

/**
 * Readiness probe for a load balancer: 200 while serving (`ok`, or `degraded` while Redis is
 * down: this node still serves its clients), 503 while draining.
 */
@Controller()
export class HealthController {
  constructor(private readonly health: RealtimeHealth) {}

  @Get('health')
  check(@Res({ passthrough: true }) response: { status(code: number): unknown }): RealtimeHealthReport {
    const report = this.health.check();
    if (report.status === 'draining') response.status(HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }
}

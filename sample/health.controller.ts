import { Controller, Get, Inject } from '@nestjs/common';
import { RESOLVED_REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../lib/index.js';

/** Readiness probe for a load balancer. */
@Controller()
export class HealthController {
  constructor(@Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions) {}

  @Get('health')
  health(): { status: 'ok'; node_id: string; redis: 'up' | 'down' | 'off' } {
    // Single node, in-memory adapter until the cluster adapter lands: Redis is "off".
    return { status: 'ok', node_id: this.options.nodeId, redis: 'off' };
  }
}

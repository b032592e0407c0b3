import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { RealtimeServer } from '../server/realtime.server.js';

/** What `GET /health` reports (PROTOCOL.md, sample routes). */
export interface RealtimeHealthReport {
  /**
   * `ok` while accepting connections; `degraded` while accepting but the cluster's Redis is down
   * (this node serves its own clients, rooms and users reach no other node: still worth routing
   * to); `draining` during shutdown (a load balancer should stop routing).
   */
  status: 'ok' | 'degraded' | 'draining';
  node_id: string;
  /** `off` without a Redis cluster adapter. */
  redis: 'up' | 'down' | 'off';
}

/** Readiness of this node, for a health route. */
@Injectable()
export class RealtimeHealth {
  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly server: RealtimeServer,
  ) {}

  check(): RealtimeHealthReport {
    const redis = this.options.cluster.status;
    return {
      status: !this.server.isAccepting ? 'draining' : redis === 'down' ? 'degraded' : 'ok',
      node_id: this.options.nodeId,
      redis,
    };
  }
}

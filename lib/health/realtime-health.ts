import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { RealtimeServer } from '../server/realtime.server.js';

/** What `GET /health` reports (PROTOCOL.md, sample routes). */
export interface RealtimeHealthReport {
  /** `ok` while accepting connections; `draining` during shutdown (a load balancer should stop routing). */
  status: 'ok' | 'draining';
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
    return {
      status: this.server.isAccepting ? 'ok' : 'draining',
      node_id: this.options.nodeId,
      redis: this.options.cluster.status,
    };
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { ClusterAdapter } from '../cluster/cluster.adapter.js';
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

/** The facts every health answer of this node is made of, read at one moment. */
export interface RealtimeHealthSnapshot {
  nodeId: string;
  /** False from the start of shutdown (during `drainDelay` too), and before start-up. */
  accepting: boolean;
  /** Slots of `maxConnections` taken: open connections and upgrades being admitted. */
  connections: number;
  maxConnections: number;
  /** The cluster adapter's Redis: `off` without one. */
  redis: 'up' | 'down' | 'off';
}

/** Readiness of this node, for a health route. */
@Injectable()
export class RealtimeHealth {
  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly server: RealtimeServer,
    private readonly cluster: ClusterAdapter,
  ) {}

  /** The `/health` answer of PROTOCOL.md. */
  check(): RealtimeHealthReport {
    const { accepting, nodeId, redis } = this.snapshot();
    return {
      status: !accepting ? 'draining' : redis === 'down' ? 'degraded' : 'ok',
      node_id: nodeId,
      redis,
    };
  }

  /** The facts behind {@link check}, and what `nest-realtime/terminus`'s indicator reads. */
  snapshot(): RealtimeHealthSnapshot {
    return {
      nodeId: this.options.nodeId,
      accepting: this.server.isAccepting,
      connections: this.server.connectionSlotsInUse,
      maxConnections: this.options.maxConnections,
      redis: this.cluster.status,
    };
  }
}

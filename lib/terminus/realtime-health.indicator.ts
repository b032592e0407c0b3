import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { RealtimeHealth } from '../health/realtime-health.js';
import { EventLoopDelay } from './event-loop-delay.js';

/** Options of {@link RealtimeHealthIndicator.hasCapacity}. */
export interface CapacityCheckOptions {
  /**
   * Down once this share of `maxConnections` is taken (0 < x ≤ 1): below 1 leaves room for the
   * reconnects of a drained or failed node while the load balancer sends new clients elsewhere.
   * @default 1 (down when full, when upgrades get 503 anyway)
   */
  thresholdPercent?: number;
}

/** Options of {@link RealtimeHealthIndicator.isRedisUp}. */
export interface RedisCheckOptions {
  /**
   * The indicator's status while Redis is down. `down` takes the node out of rotation (its new
   * clients would reach no one on other nodes); `degraded` keeps it in (Terminus answers 200,
   * status `degraded`), which is better when every node shares that Redis: all of them would be
   * unready at once, and the load balancer left with no node at all.
   * @default 'down'
   */
  whenDown?: 'down' | 'degraded';
}

/** Options of {@link RealtimeHealthIndicator.isEventLoopResponsive}. */
export interface EventLoopCheckOptions {
  /**
   * Down when the 99th percentile of the event-loop delay since the previous check exceeds this
   * (milliseconds, sampling interval included, like prom-client's `nodejs_eventloop_lag_p99_seconds`).
   * @default 1000
   */
  maxDelayMs?: number;
}

const DEFAULT_MAX_EVENT_LOOP_DELAY_MS = 1000;

/**
 * Terminus health indicators for a nest-realtime node, built on `HealthIndicatorService`
 * (Terminus 11+). Add it to the providers of the module that imports `TerminusModule` and use
 * it in a `HealthCheckService.check()`:
 *
 * ```ts
 * @Get('health/ready') @HealthCheck()
 * ready() {
 *   return this.health.check([
 *     () => this.realtime.isAccepting('realtime'),
 *     () => this.realtime.hasCapacity('connections'),
 *     () => this.realtime.isRedisUp('redis'),
 *     () => this.realtime.isEventLoopResponsive('event_loop', { maxDelayMs: 500 }),
 *   ]);
 * }
 * ```
 *
 * Each check reads `RealtimeHealth.snapshot()`: the same facts as `RealtimeHealth.check()`.
 */
@Injectable()
export class RealtimeHealthIndicator implements OnApplicationShutdown {
  private readonly eventLoop = new EventLoopDelay();

  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly health: RealtimeHealth,
  ) {}

  /**
   * Up while the node accepts connections; down from the start of shutdown — through the
   * module's `drainDelay`, before any client is sent away with 1012 — so that a readiness probe
   * takes the node out of rotation first.
   */
  isAccepting<const Key extends string>(key: Key): HealthIndicatorResult<Key> {
    const { accepting, nodeId } = this.health.snapshot();
    const indicator = this.indicators.check(key);
    return accepting
      ? indicator.up({ node_id: nodeId })
      : indicator.down({ node_id: nodeId, message: 'not accepting connections: draining' });
  }

  /** Up while connections (and upgrades being admitted) are below the threshold of `maxConnections`. */
  hasCapacity<const Key extends string>(key: Key, options: CapacityCheckOptions = {}): HealthIndicatorResult<Key> {
    const thresholdPercent = options.thresholdPercent ?? 1;
    if (!(thresholdPercent > 0 && thresholdPercent <= 1)) {
      throw new RangeError(`hasCapacity: thresholdPercent must be above 0 and at most 1 (got ${thresholdPercent})`);
    }
    const { connections, maxConnections } = this.health.snapshot();
    const data = { connections, max_connections: maxConnections, threshold_percent: thresholdPercent };
    const indicator = this.indicators.check(key);
    return connections < maxConnections * thresholdPercent
      ? indicator.up(data)
      : indicator.down({ ...data, message: 'at connection capacity' });
  }

  /**
   * Up while the cluster adapter's Redis is reachable, and on a single node (no Redis: `off`);
   * while it is down, `down` or `degraded` as {@link RedisCheckOptions.whenDown} says.
   */
  isRedisUp<const Key extends string>(key: Key, options: RedisCheckOptions = {}): HealthIndicatorResult<Key> {
    const { redis } = this.health.snapshot();
    const indicator = this.indicators.check(key);
    if (redis !== 'down') return indicator.up({ redis });
    const data = { redis, message: 'Redis unreachable: broadcasts reach this node only' };
    return options.whenDown === 'degraded' ? indicator.degraded(data) : indicator.down(data);
  }

  /**
   * Up while the event loop keeps up: the 99th percentile of its delay since the previous
   * check (Node's `monitorEventLoopDelay`, sampled every 10 ms) is at most `maxDelayMs`. A single
   * long pause (a GC) does not fail it; a loop saturated for the window does.
   */
  isEventLoopResponsive<const Key extends string>(
    key: Key,
    options: EventLoopCheckOptions = {},
  ): HealthIndicatorResult<Key> {
    const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_EVENT_LOOP_DELAY_MS;
    const { p99, max } = this.eventLoop.read();
    const data = { p99_ms: round(p99), max_ms: round(max), max_delay_ms: maxDelayMs };
    const indicator = this.indicators.check(key);
    return p99 <= maxDelayMs ? indicator.up(data) : indicator.down({ ...data, message: 'event loop delayed' });
  }

  /** After the HTTP server closed: the checks stay accurate while the node drains. */
  onApplicationShutdown(): void {
    this.eventLoop.stop();
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { RealtimeHealth, RealtimeHealthSnapshot } from '../../../lib/health/realtime-health.js';
import { EventLoopDelay } from '../../../lib/terminus/event-loop-delay.js';
import { RealtimeHealthIndicator } from '../../../lib/terminus/realtime-health.indicator.js';

const SERVING: RealtimeHealthSnapshot = {
  nodeId: 'n1',
  accepting: true,
  connections: 10,
  maxConnections: 100,
  redis: 'off',
};

describe('RealtimeHealthIndicator', () => {
  const made: RealtimeHealthIndicator[] = [];
  afterEach(() => {
    for (const indicator of made.splice(0)) indicator.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  /** An indicator over a RealtimeHealth that reports `snapshot`, with Terminus's real service. */
  function indicatorOf(snapshot: Partial<RealtimeHealthSnapshot>): RealtimeHealthIndicator {
    const health = { snapshot: () => ({ ...SERVING, ...snapshot }) } as RealtimeHealth;
    const indicator = new RealtimeHealthIndicator(new HealthIndicatorService(), health);
    made.push(indicator);
    return indicator;
  }

  it('isAccepting: up while accepting, down (draining) otherwise', () => {
    expect(indicatorOf({}).isAccepting('rt')).toEqual({ rt: { status: 'up', node_id: 'n1' } });
    expect(indicatorOf({ accepting: false }).isAccepting('rt')).toEqual({
      rt: { status: 'down', node_id: 'n1', message: 'not accepting connections: draining' },
    });
  });

  it('hasCapacity: down from maxConnections, or from the threshold share of it', () => {
    expect(indicatorOf({ connections: 99 }).hasCapacity('c')).toEqual({
      c: { status: 'up', connections: 99, max_connections: 100, threshold_percent: 1 },
    });
    expect(indicatorOf({ connections: 100 }).hasCapacity('c').c.status).toBe('down');
    expect(indicatorOf({ connections: 100 }).hasCapacity('c').c.message).toBe('at connection capacity');
    expect(indicatorOf({ connections: 89 }).hasCapacity('c', { thresholdPercent: 0.9 }).c.status).toBe('up');
    expect(indicatorOf({ connections: 90 }).hasCapacity('c', { thresholdPercent: 0.9 }).c).toMatchObject({
      status: 'down',
      threshold_percent: 0.9,
    });
  });

  it.each([0, -0.5, 1.5, Number.NaN])('hasCapacity refuses thresholdPercent %p', (thresholdPercent) => {
    expect(() => indicatorOf({}).hasCapacity('c', { thresholdPercent })).toThrow(RangeError);
  });

  it('isRedisUp: up on one node (off) and while up; down, or degraded if asked, while Redis is down', () => {
    expect(indicatorOf({ redis: 'off' }).isRedisUp('r')).toEqual({ r: { status: 'up', redis: 'off' } });
    expect(indicatorOf({ redis: 'up' }).isRedisUp('r')).toEqual({ r: { status: 'up', redis: 'up' } });
    const message = 'Redis unreachable: broadcasts reach this node only';
    expect(indicatorOf({ redis: 'down' }).isRedisUp('r')).toEqual({ r: { status: 'down', redis: 'down', message } });
    expect(indicatorOf({ redis: 'down' }).isRedisUp('r', { whenDown: 'degraded' })).toEqual({
      r: { status: 'degraded', redis: 'down', message },
    });
  });

  it('isEventLoopResponsive: compares the p99 of the window with maxDelayMs (default 1000)', () => {
    const read = jest.spyOn(EventLoopDelay.prototype, 'read');
    const indicator = indicatorOf({});
    read.mockReturnValueOnce({ p99: 1000, max: 3000.04, samples: 50 });
    expect(indicator.isEventLoopResponsive('loop')).toEqual({
      loop: { status: 'up', p99_ms: 1000, max_ms: 3000, max_delay_ms: 1000 },
    });
    read.mockReturnValueOnce({ p99: 120.26, max: 150, samples: 8 });
    expect(indicator.isEventLoopResponsive('loop', { maxDelayMs: 100 })).toEqual({
      loop: { status: 'down', p99_ms: 120.3, max_ms: 150, max_delay_ms: 100, message: 'event loop delayed' },
    });
  });
});

describe('EventLoopDelay', () => {
  it('reads the delay since the previous reading, and repeats it for a window without samples', async () => {
    const delay = new EventLoopDelay(10);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const idle = delay.read();
      expect(idle.samples).toBeGreaterThan(3);
      // Busy 120 ms between yields, for half a second: every sample is late.
      const end = Date.now() + 500;
      while (Date.now() < end) {
        const slice = Date.now() + 120;
        while (Date.now() < slice);
        await new Promise((resolve) => setImmediate(resolve));
      }
      const busy = delay.read();
      expect(busy.p99).toBeGreaterThanOrEqual(110);
      expect(idle.p99).toBeLessThan(busy.p99);
      expect(busy.max).toBeGreaterThanOrEqual(busy.p99);
      // Read again at once: no sample yet, the previous window stands.
      expect(delay.read()).toEqual(busy);
    } finally {
      delay.stop();
    }
  });
});

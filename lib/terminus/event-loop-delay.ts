import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** Event-loop delay over one window, in milliseconds. */
export interface EventLoopDelayReading {
  /** 99th percentile: what a sustained delay shows in (a single long pause does not). */
  p99: number;
  max: number;
  /** Samples in the window (one per `resolution` ms while the loop keeps up). */
  samples: number;
}

const NS_PER_MS = 1e6;

/**
 * The event loop's delay, sampled by Node itself (`perf_hooks.monitorEventLoopDelay`: a timer
 * every `resolution` ms, recording how late it fires — in C++, so it costs the loop nothing).
 * Values include the sampling interval, as prom-client's `nodejs_eventloop_lag_*` do: an idle
 * loop reads about `resolution` ms. Each reading covers the time since the previous one and then
 * starts a new window.
 */
export class EventLoopDelay {
  private readonly histogram: IntervalHistogram;
  private last: EventLoopDelayReading = { p99: 0, max: 0, samples: 0 };

  constructor(resolution = 10) {
    this.histogram = monitorEventLoopDelay({ resolution });
    this.histogram.enable();
  }

  /**
   * The window since the previous reading. A window too short to hold a sample (two probes at
   * once) gives the previous reading again rather than an empty one.
   */
  read(): EventLoopDelayReading {
    const { histogram } = this;
    if (histogram.count === 0) return this.last;
    this.last = {
      p99: histogram.percentile(99) / NS_PER_MS,
      max: histogram.max / NS_PER_MS,
      samples: histogram.count,
    };
    histogram.reset();
    return this.last;
  }

  stop(): void {
    this.histogram.disable();
  }
}

/**
 * Where the dispatcher reports how long each handled message took (guards, pipes, interceptors
 * and handler, until the reply or the error was sent). The metrics layer provides the
 * Prometheus histogram; without metrics it is a no-op. It lives in stats/ (low) rather than
 * metrics/ (high) so the dispatcher depends on this port, not on the Prometheus layer.
 */
export abstract class MessageLatency {
  /** Whether `observe` does anything (the dispatcher skips reading the clock otherwise). */
  abstract readonly enabled: boolean;
  abstract observe(seconds: number): void;
}

/** The no-op {@link MessageLatency} used when metrics are off. */
export class NoMessageLatency extends MessageLatency {
  readonly enabled = false;
  observe(): void {}
}

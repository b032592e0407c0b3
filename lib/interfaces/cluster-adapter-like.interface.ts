/**
 * What the options know of a cluster adapter: its lifecycle. The full contract is the
 * `ClusterAdapter` class in cluster/ (every adapter extends it, and the module refuses anything
 * that does not, realtime.providers.ts); the options name this low interface instead so that
 * interfaces/ and options/ do not import cluster/, which sits above them (ARCHITECTURE.md).
 */
export interface ClusterAdapterLike {
  /** `off` without a shared backend; `up`/`down` for a backend that can fail. */
  readonly status: 'up' | 'down' | 'off';
  start(): Promise<void>;
  stop(): Promise<void>;
}

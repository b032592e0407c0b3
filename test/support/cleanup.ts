import { afterEach } from '@jest/globals';

/** Anything a test starts and must stop: an app or a client (`close`), a redis-server (`stop`). */
export type Closable = { close(): unknown } | { stop(): unknown };

/**
 * A per-test cleanup registry. A test registers what it starts *as it starts it*; after each test,
 * pass or fail, everything registered is closed, newest first. An assertion that fails half-way
 * through a test therefore still closes its apps, sockets and `redis-server`s: Jest exits, and the
 * next test in the file starts from nothing instead of failing on the previous one's leftovers.
 *
 * Call once per `describe` (it installs an `afterEach`):
 *
 * ```ts
 * const cleanup = useCleanup();
 * const t = cleanup.track(await createTestApp(...));
 * ```
 */
export interface CleanupRegistry {
  /** Registers `thing` to be closed after the current test; returns it. */
  track<T extends Closable>(thing: T): T;
  /** Registers a function to run after the current test. */
  defer(run: () => unknown): void;
  /** Runs and forgets everything registered so far (also done after each test). */
  run(): Promise<void>;
}

export function useCleanup(): CleanupRegistry {
  const pending: (() => unknown)[] = [];
  const registry: CleanupRegistry = {
    track(thing) {
      pending.push(() => ('close' in thing ? thing.close() : thing.stop()));
      return thing;
    },
    defer(run) {
      pending.push(run);
    },
    async run() {
      const errors: unknown[] = [];
      // Newest first: clients before the app they talk to, apps before their redis-server.
      for (const step of pending.splice(0).reverse()) {
        try {
          await step();
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length > 0) throw new AggregateError(errors, `${errors.length} cleanup step(s) failed`);
    },
  };
  afterEach(() => registry.run());
  return registry;
}

/**
 * Preloaded into every soak node (`node --expose-gc --import <this file>`): on SIGUSR2 it
 * collects garbage twice and writes the settled memory and the live handles and timers
 * (`process.getActiveResourcesInfo()`) to `$SOAK_PROBE_FILE`, so the soak can compare a node
 * before and after its clients without the node knowing it is observed.
 */
import { createHook } from 'node:async_hooks';
import { renameSync, writeFileSync } from 'node:fs';

/** What a node reports. */
export interface NodeProbe {
  heapUsed: number;
  rss: number;
  /** Live timers and intervals, unref'd ones included (`getActiveResourcesInfo` only lists ref'd ones). */
  timers: number;
  /** Live resources by kind, e.g. `{ Timeout: 4, TCPWRAP: 9 }`. */
  resources: Record<string, number>;
}

const file = process.env.SOAK_PROBE_FILE;
if (file) {
  const timers = new Set<number>();
  createHook({
    init(id, type) {
      if (type === 'Timeout') timers.add(id);
    },
    destroy(id) {
      timers.delete(id);
    },
  }).enable();
  process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    const resources: Record<string, number> = {};
    for (const kind of process.getActiveResourcesInfo()) resources[kind] = (resources[kind] ?? 0) + 1;
    const { heapUsed, rss } = process.memoryUsage();
    const probe: NodeProbe = { heapUsed, rss, timers: timers.size, resources };
    // Written whole, then renamed: the reader never sees half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify(probe));
    renameSync(`${file}.tmp`, file);
  });
}

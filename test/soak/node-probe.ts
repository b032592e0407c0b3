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
  /** Live timers by where they were created (the first frames outside Node's own code). */
  timerSites: Record<string, number>;
}

/** Frames of a timer's creation kept to tell its site: enough to pass ioredis's and Nest's helpers. */
const SITE_FRAMES = 4;

/** Where a timer is being created: its caller's frames, without Node's internals and this file. */
function creationSite(): string {
  const stack = new Error().stack ?? '';
  return (
    stack
      .split('\n')
      .slice(1)
      .map((line) => line.trim())
      .filter((line) => !line.includes('node:') && !line.includes('node-probe'))
      .slice(0, SITE_FRAMES)
      .map((line) => line.replace(/^at /, '').replace(/\(?file:\/\/[^)]*?\/(?=(lib|node_modules|sample|test)\/)/, '('))
      .join(' < ') || "(Node's own code only)"
  );
}

const file = process.env.SOAK_PROBE_FILE;
if (file) {
  // Each live timer with where it was created: a leaked timer is found by its site.
  const timers = new Map<number, string>();
  createHook({
    init(id, type) {
      if (type === 'Timeout') timers.set(id, creationSite());
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
    const timerSites: Record<string, number> = {};
    for (const site of timers.values()) timerSites[site] = (timerSites[site] ?? 0) + 1;
    const probe: NodeProbe = { heapUsed, rss, timers: timers.size, resources, timerSites };
    // Written whole, then renamed: the reader never sees half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify(probe));
    renameSync(`${file}.tmp`, file);
  });
}

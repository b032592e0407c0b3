import { join } from 'node:path';
import { buildSync, stop } from 'esbuild';

/** Where `npm run build` writes the same bundle for the package (`nest-realtime/browser`). */
export const BROWSER_BUNDLE_FILE = 'nest-realtime-client.js';

/**
 * Bundles `lib/client` for browsers with esbuild, in memory: the page always gets the client
 * of the sources it runs with, never a stale `dist/`. The flags match `build:browser` in
 * package.json. `platform: 'browser'` makes any Node import fail the build, which is how the
 * client's "no Node in the browser build" rule is enforced.
 */
export function buildClientBundle(root: string): string {
  const result = buildSync({
    entryPoints: [join(root, 'lib/client/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    write: false,
    logLevel: 'silent',
  });
  // buildSync() leaves esbuild's service running (a worker thread and an esbuild process) for
  // builds to come; this is the only one. Left running, each app (a Jest test file loading the
  // sample, with its own copy of esbuild) adds one more, and the process exits slower for each.
  void stop();
  return result.outputFiles[0].text;
}

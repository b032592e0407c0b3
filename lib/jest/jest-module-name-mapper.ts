import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vm from 'node:vm';
import { esmBundles } from './esm-bundle.js';

/**
 * The CommonJS packages nest-realtime itself imports that require() NestJS 12 (ESM only):
 * without them mapped, `import 'nest-realtime'` fails in a Jest test on Node < 24.9.
 */
const REALTIME_COMMONJS_PACKAGES = ['@willsoto/nestjs-prometheus'];

/** Options of {@link jestModuleNameMapper}. */
export interface JestModuleNameMapperOptions {
  /**
   * More CommonJS packages your app imports that require() NestJS 12, e.g. `@nestjs/throttler`
   * (those nest-realtime loads are always included).
   * @default []
   */
  packages?: string[];
  /**
   * The project's root: packages (and esbuild) are resolved from here.
   * @default process.cwd()
   */
  rootDir?: string;
  /**
   * Where the bundles are written (rebuilt at each run, rewritten only when they change). A
   * directory of its own per project and user, outside the project, so that nothing is written
   * into a node_modules that may be shared or read-only.
   * @default `<os temp dir>/nest-realtime-jest_<uid>/<hash of rootDir>`
   */
  cacheDirectory?: string;
  /** Bundle even where Jest can require() ES modules itself (Node.js 24.9+). @default false */
  force?: boolean;
}

/**
 * Entries for Jest's `moduleNameMapper` that let a test suite import nest-realtime (and any
 * other CommonJS package that require()s NestJS 12) on Node.js < 24.9.
 *
 * NestJS 12 is ESM only. Node.js >= 20.19 lets CommonJS require() it, so
 * `@willsoto/nestjs-prometheus` (CommonJS, which nest-realtime's metrics are built on) works in
 * an app; Jest's module runtime can do the same only from Node.js 24.9. Before that, each such
 * package is mapped to an ES module bundle of it (made by esbuild, an optional peer dependency,
 * at each run: some 80 ms of bundling after loading the packages in Node to list their exports) whose require() of Nest and prom-client returns the very
 * modules the tests import. From Node.js 24.9 this returns `{}`: nothing to map, esbuild not needed.
 *
 * Read it in the Jest config, which runs in Node, outside Jest's runtime:
 * `moduleNameMapper: { ...jestModuleNameMapper(), '^(\\.{1,2}/.*)\\.js$': '$1' }`.
 */
export function jestModuleNameMapper(options: JestModuleNameMapperOptions = {}): Record<string, string> {
  if (!options.force && jestCanRequireEsm()) return {};
  const rootDir = options.rootDir ?? process.cwd();
  const cacheDirectory = options.cacheDirectory ?? defaultCacheDirectory(rootDir);
  const packages = [...new Set([...REALTIME_COMMONJS_PACKAGES, ...(options.packages ?? [])])];
  const files = esmBundles(packages, rootDir, cacheDirectory);
  return Object.fromEntries(packages.map((name, i) => [`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, files[i]]));
}

/**
 * Whether Jest's runtime can require() an ES module: Jest tests the same thing (Node 24.9 added
 * `SourceTextModule#hasAsyncGraph`). `SourceTextModule` exists only under
 * `--experimental-vm-modules`; a process reading the config without that flag goes by version.
 */
export function jestCanRequireEsm(): boolean {
  const SourceTextModule = (vm as { SourceTextModule?: { prototype: object } }).SourceTextModule;
  if (SourceTextModule)
    return typeof (SourceTextModule.prototype as { hasAsyncGraph?: unknown }).hasAsyncGraph === 'function';
  const [major, minor] = process.versions.node.split('.').map(Number);
  return major > 24 || (major === 24 && minor >= 9);
}

/** Like Jest's own cache directory (`/tmp/jest_<uid>`), with a directory per project. */
function defaultCacheDirectory(rootDir: string): string {
  const user = process.getuid?.().toString(36) ?? 'user';
  const project = createHash('sha256').update(rootDir).digest('hex').slice(0, 16);
  return join(tmpdir(), `nest-realtime-jest_${user}`, project);
}

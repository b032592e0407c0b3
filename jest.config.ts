/** @jest-config-loader-options {"transpileOnly": true, "experimentalResolver": true, "compilerOptions": {"module": "CommonJS", "moduleResolution": "Node10"}} */
import type { Config } from 'jest';
import { createRequire } from 'node:module';
import { jestModuleNameMapper } from './lib/jest/index.js';

/**
 * Some packages are CommonJS that require()s the ESM-only `@nestjs/common` and `@nestjs/core`:
 * `@willsoto/nestjs-prometheus`, which the library's metrics are built on, and `@nestjs/throttler`,
 * which the sample uses. Node >= 20.19 allows that; Jest's module runtime allows it only from
 * Node 24.9. Before that, `jestModuleNameMapper()` maps each to an ES module bundle of it (by
 * esbuild, rebuilt at each run into a directory under the OS temp dir: about half a second, most
 * of it loading the packages in Node to list their exports) whose require() of the Nest packages
 * and prom-client returns the very instances the tests import; from 24.9 it maps nothing.
 *
 * Mapping a package the library itself loads is fine because this is not a private workaround:
 * it is the helper the package ships as `nest-realtime/jest` (lib/jest/), and README's "Testing
 * your app" tells users to spread the same call into their own Jest config. This config stands in
 * for a user's, so it uses that helper and nothing more (the throttler, like any other CommonJS
 * Nest package of an app, through its `packages` option);
 * test/unit/jest/jest-module-name-mapper.spec.ts runs Jest with and without it.
 * (`experimentalResolver` in the loader options above lets ts-node, which reads this file as
 * CommonJS, find lib/jest's `.ts` sources behind their `.js` specifiers.)
 */
function isInstalled(packageName: string): boolean {
  try {
    createRequire(__filename).resolve(packageName);
    return true;
  } catch {
    return false;
  }
}

// NestJS 12 is ESM-only, so the suite runs as native ESM (`--experimental-vm-modules`, see the
// `test` script) and ts-jest transpiles each file in isolation: type errors are caught by
// `npm run build` and `npm run lint`, which keeps the test run fast.
const config: Config = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // @nestjs/throttler not installed (a node_modules older than package-lock.json): the tests that
    // use the sample fail on the missing package, the others still run. `npm ci` fixes it.
    ...jestModuleNameMapper({ rootDir: __dirname, packages: ['@nestjs/throttler'].filter(isInstalled) }),
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  testTimeout: 20000,
  maxWorkers: 2,
  // Under --experimental-vm-modules each test file's modules stay in the worker's heap: by the
  // end of the suite a worker held 1.1-1.2 GB, and Node's own teardown of that heap after the
  // 'exit' event took ~730 ms, past the 500 ms Jest allows before it SIGTERMs the worker and
  // prints "A worker process has failed to exit gracefully" (nothing was left running: the
  // workers emitted 'exit' 2-4 ms after Jest asked them to end). A worker above this is
  // replaced between files, so none ends the run that heavy (and the suite runs faster). At
  // 800 MB the warning still came in two full runs of three (a worker just under the limit
  // after its last file); at 512 MB not (176 s).
  workerIdleMemoryLimit: '512MB',
};

export default config;

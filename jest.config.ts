/** @jest-config-loader-options {"transpileOnly": true, "compilerOptions": {"module": "CommonJS", "moduleResolution": "Node10"}} */
import type { Config } from 'jest';
import { buildSync } from 'esbuild';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * Some Nest packages are still CommonJS that require()s the ESM-only `@nestjs/common` and
 * `@nestjs/core`: Node >= 20.19 allows that, Jest's module runtime (before Node 24.9) does not.
 * For those (today only `@nestjs/throttler`, used by the sample), the tests load the same code
 * bundled by esbuild into one ES module whose `require` of the Nest packages returns the very
 * instances the tests import (one `Reflector`, one set of decorators), with the package's named
 * exports. The bundle is rebuilt at each run (tens of milliseconds) into node_modules/.cache.
 *
 * Never map a package the library itself loads (such as `@willsoto/nestjs-prometheus`): for the
 * library this config stands in for a user's Jest (README, "Testing your app"), which has no such
 * mapping, so what fails to load here would fail in every user's tests too.
 */
function esmBundleOf(packageName: string): string {
  // A plain require() of the package works here (Node, not Jest's runtime): it lists the exports.
  const load = createRequire(__filename);
  const exportNames = Object.keys(load(packageName) as object).filter((name) => name !== 'default');
  const banner = [
    "import * as __nestCommon from '@nestjs/common';",
    "import * as __nestCore from '@nestjs/core';",
    "import { createRequire as __createRequire } from 'node:module';",
    'const __nodeRequire = __createRequire(import.meta.url);',
    "const require = (id) => id === '@nestjs/common' ? __nestCommon : id === '@nestjs/core' ? __nestCore : __nodeRequire(id);",
  ].join('\n');
  const [output] = buildSync({
    stdin: {
      contents: `const m = require(${JSON.stringify(load.resolve(packageName))});\nexport const { ${exportNames.join(', ')} } = m;`,
      resolveDir: __dirname,
      loader: 'js',
    },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['@nestjs/common', '@nestjs/core'],
    banner: { js: banner },
    write: false,
    logLevel: 'warning',
  }).outputFiles;
  const directory = join(__dirname, 'node_modules', '.cache', 'nest-realtime-jest');
  const file = join(directory, `${packageName.replace(/[@/]/g, '_')}.mjs`);
  mkdirSync(directory, { recursive: true });
  // Written aside and renamed: another test run may be reading the file.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, output.contents);
  renameSync(temporary, file);
  return file;
}

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
    // Not installed (a node_modules older than package-lock.json): the tests that use the sample
    // fail on the missing package, the others still run. `npm ci` fixes it.
    ...(isInstalled('@nestjs/throttler') && { '^@nestjs/throttler$': esmBundleOf('@nestjs/throttler') }),
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  testTimeout: 20000,
  maxWorkers: 2,
};

export default config;

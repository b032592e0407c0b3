/** @jest-config-loader-options {"transpileOnly": true, "compilerOptions": {"module": "CommonJS", "moduleResolution": "Node10"}} */
import type { Config } from 'jest';
import { buildSync } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** Packages a bundle must not inline: their state (metadata, registries) is shared with the tests. */
const SHARED_PACKAGES: { name: string; format: 'esm' | 'cjs' }[] = [
  { name: '@nestjs/common', format: 'esm' },
  { name: '@nestjs/core', format: 'esm' },
  { name: 'prom-client', format: 'cjs' },
];

/**
 * Some packages we load are still CommonJS that require()s the ESM-only `@nestjs/common` and
 * `@nestjs/core`: Node >= 20.19 allows that, Jest's module runtime (before Node 24.9) does not
 * ("Must use import to load ES Module"). For those — `@willsoto/nestjs-prometheus` (the metrics)
 * and `@nestjs/throttler` (used by the sample) — the tests load the same code bundled by esbuild
 * into one ES module whose `require` of a shared package returns the very instance the tests
 * import: one `Reflector` and one set of Nest decorators, one prom-client registry. The bundle
 * has the package's named exports and is rebuilt at each run (tens of milliseconds) into
 * node_modules/.cache.
 */
function esmBundleOf(packageName: string): string {
  // A plain require() of the package works here (Node, not Jest's runtime): it lists the exports.
  const load = createRequire(__filename);
  const exportNames = Object.keys(load(packageName) as object).filter((name) => name !== 'default');
  // Each shared package is imported by the bundle (so through Jest's module registry, the same
  // instance the tests get) and handed to the bundled CommonJS code by its `require`.
  const banner = [
    ...SHARED_PACKAGES.map(({ name }, index) => `import * as __shared${index} from ${JSON.stringify(name)};`),
    "import { createRequire as __createRequire } from 'node:module';",
    'const __nodeRequire = __createRequire(import.meta.url);',
    'const __sharedById = {',
    // An ES module's namespace is what require(esm) gives; a CommonJS module's exports are its default.
    ...SHARED_PACKAGES.map(
      ({ name, format }, index) =>
        `  ${JSON.stringify(name)}: ${format === 'esm' ? `__shared${index}` : `__shared${index}.default`},`,
    ),
    '};',
    'const require = (id) => __sharedById[id] ?? __nodeRequire(id);',
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
    external: SHARED_PACKAGES.map(({ name }) => name),
    banner: { js: banner },
    write: false,
    logLevel: 'warning',
  }).outputFiles;
  const directory = join(__dirname, 'node_modules', '.cache', 'nest-realtime-jest');
  // Named by content: test runs of other checkouts sharing node_modules never read another bundle.
  const hash = createHash('sha256').update(output.contents).digest('hex').slice(0, 12);
  const file = join(directory, `${packageName.replace(/[@/]/g, '_')}.${hash}.mjs`);
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
    '^@willsoto/nestjs-prometheus$': esmBundleOf('@willsoto/nestjs-prometheus'),
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

import { describe, expect, it } from '@jest/globals';
import { HttpException } from '@nestjs/common';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, register } from 'prom-client';
import { jestCanRequireEsm } from '../../../lib/jest/jest-module-name-mapper.js';

const ROOT = process.cwd();
const FIXTURES = join(ROOT, 'test', 'fixtures', 'jest');

/**
 * Calls a function of lib/jest/ in a plain Node process, where a Jest config runs: inside this
 * test's Jest runtime, require() is Jest's (it cannot load the packages — the problem the helper
 * solves — and applies this suite's own mapping). esbuild turns the TypeScript into a module first.
 */
function inNode<T>(fn: 'jestModuleNameMapper' | 'esmBundles', ...args: unknown[]): T {
  const script = `
    import { buildSync } from 'esbuild';
    import { mkdtempSync, rmSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    const dir = mkdtempSync(join(tmpdir(), 'nest-realtime-jest-helper-'));
    const outfile = join(dir, 'helper.mjs');
    buildSync({
      stdin: { contents: "export * from './lib/jest/jest-module-name-mapper.js'; export * from './lib/jest/esm-bundle.js';", resolveDir: process.cwd(), loader: 'ts' },
      bundle: true, format: 'esm', platform: 'node', packages: 'external', outfile, logLevel: 'error',
    });
    const helper = await import(outfile);
    rmSync(dir, { recursive: true, force: true });
    const { fn, args } = JSON.parse(process.argv[1]);
    process.stdout.write(JSON.stringify(helper[fn](...args)));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify({ fn, args })], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(output) as T;
}

/** Runs the consumer fixture in a Jest of its own with these module mappings. */
function runConsumerJest(moduleNameMapper: Record<string, string>): { status: number | null; output: string } {
  const config = {
    rootDir: ROOT,
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1', ...moduleNameMapper },
    transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
    testMatch: ['<rootDir>/test/fixtures/jest/imports-nest-realtime.fixture.ts'],
  };
  const jest = join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
  const run = spawnSync(
    process.execPath,
    [
      '--experimental-vm-modules',
      '--no-warnings=ExperimentalWarning',
      jest,
      '--config',
      JSON.stringify(config),
      '--ci',
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('nest-realtime/jest', () => {
  it('maps the CommonJS packages nest-realtime loads, and the ones asked for, to ES module files', () => {
    const cacheDirectory = mkdtempSync(join(tmpdir(), 'nest-realtime-jest-spec-'));
    try {
      const mapping = inNode<Record<string, string>>('jestModuleNameMapper', {
        rootDir: ROOT,
        cacheDirectory,
        packages: ['@nestjs/throttler'],
        force: true,
      });
      expect(Object.keys(mapping)).toEqual(['^@willsoto/nestjs-prometheus$', '^@nestjs/throttler$']);
      expect(new RegExp(Object.keys(mapping)[0]).test('@willsoto/nestjs-prometheus')).toBe(true);
      expect(new RegExp(Object.keys(mapping)[0]).test('@willsoto/nestjs-prometheus/dist/index.js')).toBe(false);
      for (const file of Object.values(mapping)) {
        expect(file.startsWith(cacheDirectory)).toBe(true);
        expect(readFileSync(file, 'utf8')).toMatch(
          /^import \* as __external\d+ from ".*@nestjs\/common\/index\.js";$/m,
        );
      }
    } finally {
      rmSync(cacheDirectory, { recursive: true, force: true });
    }
  });

  it('maps nothing where Jest can require() ES modules itself (Node.js 24.9+)', () => {
    const mapping = inNode<Record<string, string>>('jestModuleNameMapper', {
      rootDir: ROOT,
      cacheDirectory: join(tmpdir(), 'unused'),
    });
    expect(Object.keys(mapping)).toEqual(jestCanRequireEsm() ? [] : ['^@willsoto/nestjs-prometheus$']);
  });

  it('gives the bundled package the very @nestjs/common and prom-client the tests import', async () => {
    const cacheDirectory = mkdtempSync(join(tmpdir(), 'nest-realtime-jest-spec-'));
    const name = 'jest_bundle_counter_total';
    try {
      const [file] = inNode<string[]>('esmBundles', ['./cjs-nest-package.cjs'], FIXTURES, cacheDirectory);
      const bundled = (await import(file)) as {
        TeapotException: new () => Error;
        makeCounter: (name: string) => unknown;
        default: object;
      };
      // One HttpException: Nest's exception filters (instanceof) recognize the package's errors.
      expect(new bundled.TeapotException()).toBeInstanceOf(HttpException);
      // One prom-client: what the package registers is in the registry /metrics serves.
      const counter = bundled.makeCounter(name);
      expect(counter).toBeInstanceOf(Counter);
      expect(register.getSingleMetric(name)).toBe(counter);
      // The default export is the package's module.exports, as Node gives it to an import.
      expect(Object.keys(bundled.default).sort()).toEqual(['TeapotException', 'makeCounter']);
    } finally {
      register.removeSingleMetric(name);
      rmSync(cacheDirectory, { recursive: true, force: true });
    }
  });

  it('is what lets a Jest suite import nest-realtime on Node.js < 24.9', () => {
    const cacheDirectory = mkdtempSync(join(tmpdir(), 'nest-realtime-jest-spec-'));
    try {
      const mapped = runConsumerJest(inNode('jestModuleNameMapper', { rootDir: ROOT, cacheDirectory }));
      expect(mapped.output).toContain('1 passed');
      expect(mapped.status).toBe(0);
      const unmapped = runConsumerJest({});
      if (jestCanRequireEsm()) {
        expect(unmapped.status).toBe(0);
      } else {
        expect(unmapped.output).toContain('Must use import to load ES Module');
        expect(unmapped.status).toBe(1);
      }
    } finally {
      rmSync(cacheDirectory, { recursive: true, force: true });
    }
  }, 240_000);
});

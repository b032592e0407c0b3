import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import type * as Esbuild from 'esbuild';

/**
 * CommonJS packages turned into ES modules for Jest, by esbuild, one file each; returns the files.
 * Runs where a Jest config runs: in Node, outside Jest's module runtime (whose require() could
 * not load these packages — the very problem — and would apply the mapping being made).
 *
 * Why: a CommonJS package that require()s the ESM-only NestJS 12 (`@willsoto/nestjs-prometheus`,
 * `@nestjs/throttler`) loads in Node >= 20.19, which can require() an ES module, but not in
 * Jest's module runtime before Node 24.9, which cannot ("Must use import to load ES Module").
 * The bundle holds the package's own files only; every package it requires stays outside
 * (`packages: 'external'`) and is imported at the top of the bundle through Jest's loader, so
 * its `require('@nestjs/common')` returns the very module the test imports: one `Reflector`, one
 * `HttpException` for `instanceof`, one prom-client registry.
 */
export function esmBundles(packageNames: string[], rootDir: string, cacheDirectory: string): string[] {
  const entries = packageNames.map((name) => resolvePackage(name, rootDir));
  const exportNames = exportsOf(entries);
  const esbuild = loadEsbuild(rootDir);
  return entries.map((entry, i) => {
    const result = esbuild.buildSync({
      stdin: {
        contents: [
          `const m = require(${JSON.stringify(entry)});`,
          `export const { ${exportNames[i].join(', ')} } = m;`,
          'export default m;',
        ].join('\n'),
        resolveDir: dirname(entry),
        loader: 'js',
      },
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      metafile: true,
      write: false,
      logLevel: 'warning',
      absWorkingDir: rootDir,
    });
    const source = `${preamble(entry, externalsOf(result.metafile!, rootDir))}\n${result.outputFiles![0].text}`;
    const file = join(cacheDirectory, `${packageNames[i].replace(/[^\w.-]/g, '_')}.mjs`);
    writeIfChanged(file, source);
    return file;
  });
}

/** The names each CommonJS entry exports, as Node's require() gives them. */
function exportsOf(entries: string[]): string[][] {
  return entries.map((entry) =>
    Object.keys(createRequire(entry)(entry) as object).filter(
      (name) => name !== 'default' && name !== '__esModule' && /^[A-Za-z_$][\w$]*$/.test(name),
    ),
  );
}

/** A package the bundle requires, and the file it resolves to from the file that requires it. */
interface External {
  specifier: string;
  path: string;
}

/** Bare specifiers the bundled files require (Node's built-ins aside), resolved where they are required. */
function externalsOf(metafile: Esbuild.Metafile, rootDir: string): External[] {
  const found = new Map<string, External>();
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    for (const { path: specifier, external } of imports) {
      if (!external || isBuiltin(specifier) || found.has(specifier)) continue;
      try {
        found.set(specifier, { specifier, path: createRequire(resolve(rootDir, input)).resolve(specifier) });
      } catch {
        // Not installed (an optional dependency required inside a try): left to the package's
        // own require() at the moment it asks, which fails the way it would in Node.
      }
    }
  }
  return [...found.values()];
}

/**
 * Imports every external through Jest's loader and defines the `require` that esbuild's
 * bundle calls for them: an ES module as its namespace, a CommonJS one as its `module.exports`
 * (what Node's own require() returns for each).
 */
function preamble(entry: string, externals: External[]): string {
  const lines = ["import { createRequire as __createRequire } from 'node:module';"];
  const table: string[] = [];
  externals.forEach(({ specifier, path }, i) => {
    lines.push(`import * as __external${i} from ${JSON.stringify(path)};`);
    table.push(`  ${JSON.stringify(specifier)}: ${isEsmFile(path) ? `__external${i}` : `__external${i}.default`},`);
  });
  lines.push(
    `const __externals = {\n${table.join('\n')}\n};`,
    `const __nodeRequire = __createRequire(${JSON.stringify(entry)});`,
    'const require = (id) => (Object.hasOwn(__externals, id) ? __externals[id] : __nodeRequire(id));',
  );
  return lines.join('\n');
}

function resolvePackage(packageName: string, rootDir: string): string {
  const fromRoot = createRequire(join(rootDir, 'package.json'));
  try {
    return fromRoot.resolve(packageName);
  } catch (error) {
    // A strict layout (pnpm) keeps nest-realtime's own dependencies out of the project's
    // node_modules: look beside nest-realtime.
    try {
      return createRequire(fromRoot.resolve('nest-realtime/package.json')).resolve(packageName);
    } catch {
      throw error;
    }
  }
}

function loadEsbuild(rootDir: string): typeof Esbuild {
  try {
    return createRequire(join(rootDir, 'package.json'))('esbuild') as typeof Esbuild;
  } catch (cause) {
    throw new Error(
      'nest-realtime/jest: on Node.js < 24.9 Jest cannot require() ES modules, so CommonJS packages that ' +
        'require() NestJS 12 are bundled into ES modules with esbuild, which is not installed. ' +
        'Install it (npm i -D esbuild) or run the tests on Node.js 24.9 or later.',
      { cause },
    );
  }
}

/** How Node loads the file: `.mjs`, or `.js` under a package.json with `"type": "module"`. */
function isEsmFile(path: string): boolean {
  const extension = extname(path);
  if (extension === '.mjs') return true;
  if (extension !== '.js') return false;
  for (let directory = dirname(path); ; directory = dirname(directory)) {
    const manifest = join(directory, 'package.json');
    if (existsSync(manifest))
      return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: string }).type === 'module';
    if (dirname(directory) === directory) return false;
  }
}

/**
 * Written aside and renamed (another Jest process may be reading the file), and only when the
 * content changed.
 */
function writeIfChanged(file: string, source: string): void {
  if (existsSync(file) && readFileSync(file, 'utf8') === source) return;
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, source);
  renameSync(temporary, file);
}

import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';

const LIB = join(process.cwd(), 'lib');

/**
 * The packages an entry point loads: the bare specifiers of every file reachable from it through
 * relative imports (type-only imports aside: they load nothing).
 */
function packagesLoadedBy(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    for (const statement of source.statements) {
      const isImport = ts.isImportDeclaration(statement) && !statement.importClause?.isTypeOnly;
      const isExport = ts.isExportDeclaration(statement) && !statement.isTypeOnly;
      if (!isImport && !isExport) continue;
      const specifier = (statement.moduleSpecifier as ts.StringLiteral | undefined)?.text;
      if (specifier === undefined) continue;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier).replace(/\.js$/, '.ts'));
      else
        packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);
    }
  };
  visit(join(LIB, entry));
  return packages;
}

// Optional peer dependencies cost nothing to an app that does not use their entry point.
describe('what each entry point loads', () => {
  it('the main entry loads neither @nestjs/terminus nor esbuild, but the public willsoto entry', () => {
    const loaded = packagesLoadedBy('index.ts');
    expect(loaded.has('@nestjs/terminus')).toBe(false);
    expect(loaded.has('esbuild')).toBe(false);
    expect(loaded.has('ioredis')).toBe(false);
    expect(loaded.has('@willsoto/nestjs-prometheus')).toBe(true);
  });

  it('nest-realtime/terminus loads @nestjs/terminus (the self-check of the walk)', () => {
    expect(packagesLoadedBy('terminus/index.ts').has('@nestjs/terminus')).toBe(true);
  });

  it('nest-realtime/jest loads no package at all: it runs in a Jest config, esbuild only on demand', () => {
    expect([...packagesLoadedBy('jest/index.ts')].filter((name) => !name.startsWith('node:'))).toEqual([]);
  });
});

import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const lib = join(process.cwd(), 'lib');
const ASYNCAPI_PEERS = ['class-validator', 'class-transformer', 'class-validator-jsonschema', 'yaml'];

/** Every file of lib/ that `entry` loads, following relative imports, and the packages they import. */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (fileName.startsWith('.')) visit(resolve(dirname(file), fileName).replace(/\.js$/, '.ts'));
      else packages.add(fileName.startsWith('@') ? fileName.split('/').slice(0, 2).join('/') : fileName.split('/')[0]!);
    }
  };
  visit(join(lib, entry));
  return { files: new Set([...files].map((file) => relative(lib, file))), packages };
}

// `@MessageDoc()` is on the main entry; the converter and its optional peers must stay behind
// `nest-realtime/asyncapi` (check:consumer proves it at run time on the packed package).
describe('nest-realtime/asyncapi stays out of the main entry point', () => {
  it('the main entry loads no file of lib/asyncapi/ and none of its peer packages', () => {
    const { files, packages } = importGraph('index.ts');
    expect(files).toContain('decorators/message-doc.decorator.ts');
    expect([...files].filter((file) => file.startsWith('asyncapi/') || file.includes('class-transformer'))).toEqual([]);
    expect([...packages].filter((name) => ASYNCAPI_PEERS.includes(name))).toEqual([]);
  });

  it('while the asyncapi entry does load them (so the check above can see them)', () => {
    const { packages } = importGraph('asyncapi/index.ts');
    expect([...packages].filter((name) => ASYNCAPI_PEERS.includes(name)).sort()).toEqual([
      'class-transformer',
      'class-validator-jsonschema',
      'yaml',
    ]);
  });
});

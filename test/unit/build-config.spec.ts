import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const json = (file: string) => JSON.parse(readFileSync(join(process.cwd(), file), 'utf8')) as Record<string, never>;

// The package ships dist/ but not lib/: a debugger (or `node --enable-source-maps`) can only show
// the TypeScript of a frame if the source maps carry it. Checked here rather than by building,
// which takes longer than the whole unit suite.
describe('published build', () => {
  it('emits source maps with the sources inside, and no @internal members in the .d.ts', () => {
    const options = json('tsconfig.build.json').compilerOptions as Record<string, unknown>;
    expect(options).toMatchObject({ sourceMap: true, inlineSources: true, stripInternal: true });
  });

  it('bundles the browser client with a source map (esbuild includes sourcesContent by default)', () => {
    const script = (json('package.json').scripts as Record<string, string>)['build:browser'];
    expect(script).toContain('--sourcemap');
    expect(script).not.toContain('--sources-content=false');
  });
});

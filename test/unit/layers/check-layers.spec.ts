import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// scripts/check-layers.mjs guards ARCHITECTURE.md's layers in CI; these tests run it on the real
// tree and on small made-up trees, so a change to the script that stops it seeing imports fails.
const script = join(process.cwd(), 'scripts/check-layers.mjs');
const roots: string[] = [];

function run(root?: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, root === undefined ? [script] : [script, root], { encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

/** A repository root whose lib/ holds `files` (path under lib/ → source). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'check-layers-'));
  roots.push(root);
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(root, 'lib', path)), { recursive: true });
    writeFileSync(join(root, 'lib', path), source);
  }
  return root;
}

afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('check-layers', () => {
  it('passes on this repository: no import runs up the layers unless allowed, and no circle', () => {
    const { status, output } = run();
    expect(output).toMatch(/check-layers: \d+ back-up import\(s\), 0 not allowed; 0 import circle\(s\)/);
    expect(status).toBe(0);
  });

  it('fails on an import from a lower layer to a higher one, multi-line and type-only included', () => {
    const root = tree({
      'utils/low.ts': "import type {\n  High,\n} from '../rooms/high.js';\nexport type Low = High;\n",
      'rooms/high.ts': "import { clock } from '../utils/clock.js';\nexport type High = typeof clock;\n",
      'utils/clock.ts': 'export const clock = 1;\n',
    });
    const { status, output } = run(root);
    expect(output).toContain('UP      lib/utils/low.ts:3 (utils) -> lib/rooms/high.ts (rooms)');
    expect(output).toContain('check-layers: 1 back-up import(s), 1 not allowed; 0 import circle(s)');
    expect(status).toBe(1);
  });

  it('fails on a circle between two files of one layer', () => {
    const root = tree({
      'connections/a.ts': "import type { B } from './b.js';\nexport type A = B | 1;\n",
      'connections/b.ts': "import type { A } from './a.js';\nexport type B = A | 2;\n",
    });
    const { status, output } = run(root);
    expect(output).toContain('CIRCLE  connections/a.ts -> connections/b.ts');
    expect(status).toBe(1);
  });

  it('lets the client SDK import only protocol/, whatever the order', () => {
    const root = tree({
      'client/sdk.ts':
        "import { MAX } from '../protocol/limits.js';\nimport { x } from '../utils/x.js';\nexport const y = MAX + x;\n",
      'protocol/limits.ts': 'export const MAX = 1;\n',
      'utils/x.ts': 'export const x = 1;\n',
    });
    const { status, output } = run(root);
    expect(output).toContain('UP      lib/client/sdk.ts:2 (client) -> lib/utils/x.ts (utils)');
    expect(output).not.toContain('lib/protocol/limits.ts (protocol)');
    expect(status).toBe(1);
  });

  it('refuses a folder that is in no declared layer rather than skip it', () => {
    const root = tree({ 'newthing/a.ts': 'export const a = 1;\n' });
    const { status, output } = run(root);
    expect(output).toContain('lib/newthing/a.ts is in no declared layer');
    expect(status).not.toBe(0);
  });
});

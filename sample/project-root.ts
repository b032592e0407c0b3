import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root (the folder with package.json), found from this file: the sample runs
 * both from `sample/` (tests) and compiled from `dist-sample/sample/` (`npm run start:sample`),
 * and reads its page and the client's sources from the same place in both.
 */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the sample');
    dir = parent;
  }
  return dir;
}

import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, ErrorFrameType } from '../../../lib/protocol/index.js';

// The PROTOCOL.md shipped with the package (package.json "files") must describe every code a
// client can receive from this version.
const protocol = readFileSync(join(process.cwd(), 'PROTOCOL.md'), 'utf8');
const packageJson = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { files: string[] };

describe('PROTOCOL.md', () => {
  it.each(Object.values(ErrorCode))('describes the error code %s', (code) => {
    expect(protocol).toMatch(new RegExp(`\\b${code}\\b`));
  });

  it.each(Object.values(ErrorFrameType))('describes the error frame type %s', (type) => {
    expect(protocol).toContain(`"${type}"`);
  });

  it('ships with the package and is what the README links to', () => {
    expect(packageJson.files).toContain('PROTOCOL.md');
    expect(readFileSync(join(process.cwd(), 'README.md'), 'utf8')).toContain('](PROTOCOL.md)');
  });
});

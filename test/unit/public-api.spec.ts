import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { ENTRY_POINTS, listPublicApi, REPORT_FILE, type PublicApi } from '../../scripts/public-api.mjs';

/** The names in `actual` and not in `recorded`, and the reverse, as "+ name" / "- name" lines. */
function diffLines(recorded: PublicApi, actual: PublicApi): string[] {
  const lines: string[] = [];
  for (const entry of new Set([...Object.keys(recorded), ...Object.keys(actual)])) {
    for (const kind of ['values', 'types'] as const) {
      const before = new Set(recorded[entry]?.[kind] ?? []);
      const after = new Set(actual[entry]?.[kind] ?? []);
      for (const name of after) if (!before.has(name)) lines.push(`+ ${entry} ${kind}: ${name}`);
      for (const name of before) if (!after.has(name)) lines.push(`- ${entry} ${kind}: ${name}`);
    }
  }
  return lines;
}

describe('public API report', () => {
  // Reading six entry points through the compiler takes a few seconds on a busy machine.
  const actual = listPublicApi();

  it('lists every entry point of package.json', () => {
    const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    const typed = Object.entries(packageJson.exports)
      .filter(([, target]) => typeof target === 'object')
      .map(([path]) => (path === '.' ? 'nest-realtime' : `nest-realtime/${path.slice(2)}`));
    expect(Object.keys(ENTRY_POINTS).sort()).toEqual(typed.sort());
  });

  it('exports exactly the names recorded in api/public-api.json', () => {
    const recorded = JSON.parse(readFileSync(REPORT_FILE, 'utf8')) as PublicApi;
    const diff = diffLines(recorded, actual);
    if (diff.length > 0) {
      throw new Error(
        [
          'The public API differs from api/public-api.json:',
          ...diff,
          'If the change is intended, run `npm run api:update` and commit api/public-api.json;',
          'otherwise export the name from an internal path instead of an index.ts.',
        ].join('\n'),
      );
    }
    expect(actual).toEqual(recorded);
  });

  it('keeps internals out of the main entry point', () => {
    const values = actual['nest-realtime']!.values;
    for (const name of [
      'BroadcastEngine',
      'RealtimeStats',
      'MessageHandlerRegistry',
      'Authenticator',
      'ClusterChannels',
      'resolveRealtimeOptions',
      'DEFAULT_OPTIONS',
      'RESOLVED_REALTIME_OPTIONS',
      'decodeEnvelope',
      'MessageLatency',
    ]) {
      expect(values).not.toContain(name);
    }
  });
});

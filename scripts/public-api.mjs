// The public API report: the names each entry point of the package exports, values and types
// apart, read from the source with the TypeScript compiler (the same names end up in dist/*.d.ts).
// `test/unit/public-api.spec.ts` compares them with the committed `api/public-api.json`, so a
// name that appears or disappears by accident fails CI; an intended change is recorded with
//
//   npm run api:update
//
// which rewrites api/public-api.json (review its diff like any API change).
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The package's entry points (package.json `exports`) and their source files. */
export const ENTRY_POINTS = {
  'nest-realtime': 'lib/index.ts',
  'nest-realtime/client': 'lib/client/index.ts',
  'nest-realtime/redis': 'lib/redis/index.ts',
  'nest-realtime/testing': 'lib/testing/index.ts',
  'nest-realtime/terminus': 'lib/terminus/index.ts',
  'nest-realtime/jest': 'lib/jest/index.ts',
  'nest-realtime/asyncapi': 'lib/asyncapi/index.ts',
};

export const REPORT_FILE = join(root, 'api', 'public-api.json');

function isTypeOnlyExport(symbol) {
  return (symbol.declarations ?? []).some(
    (declaration) =>
      ts.isExportSpecifier(declaration) && (declaration.isTypeOnly || declaration.parent.parent.isTypeOnly),
  );
}

/** `{ [entry]: { values: string[], types: string[] } }`, each list sorted. */
export function listPublicApi() {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  const files = Object.values(ENTRY_POINTS).map((file) => join(root, file));
  const program = ts.createProgram(files, { ...config.options, noEmit: true });
  const checker = program.getTypeChecker();
  const report = {};
  for (const [entry, file] of Object.entries(ENTRY_POINTS)) {
    const source = program.getSourceFile(join(root, file));
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`public API: cannot read the exports of ${file}`);
    const values = [];
    const types = [];
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const isValue = (target.flags & ts.SymbolFlags.Value) !== 0 && !isTypeOnlyExport(exported);
      (isValue ? values : types).push(exported.name);
    }
    report[entry] = { values: values.sort(), types: types.sort() };
  }
  return report;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const report = listPublicApi();
  // Formatted as `npm run lint` (prettier --check .) expects it.
  const options = await prettier.resolveConfig(REPORT_FILE);
  writeFileSync(REPORT_FILE, await prettier.format(JSON.stringify(report), { ...options, filepath: REPORT_FILE }));
  for (const [entry, { values, types }] of Object.entries(report)) {
    console.log(`${entry}: ${values.length} values, ${types.length} types`);
  }
  console.log(`written to ${REPORT_FILE}`);
}

#!/usr/bin/env node
// Checks that imports inside lib/ only run down the layers drawn in ARCHITECTURE.md.
//
// Every `import … from '…'` / `export … from '…'` / `import('…')` with a relative path in lib/**/*.ts is mapped
// from its file's layer (the folder under lib/, or the root file's own entry below) to the
// layer of the file it names. An import from a lower layer to a higher one is a "back-up
// import"; each is printed, and the script exits 1 when one is not in ALLOWED with a reason.
// Usage: node scripts/check-layers.mjs [root]   (root defaults to the repository; handy for
// counting the back-up imports of another checkout, e.g. `node scripts/check-layers.mjs ../main`).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Bottom to top: a layer may import itself and any layer before it. Same-index groups are
 * peers (neither is above the other). Keep this list and ARCHITECTURE.md in step.
 */
const LAYERS = [
  ['utils', 'internal'], // internal: every use of a dependency's non-public API (imports nothing of lib)
  ['protocol'], // the wire contract: no Node, no Nest (the client SDK shares it)
  ['constants'], // realtime.constants.ts (metadata keys, tokens), realtime.messages.ts
  ['interfaces', 'options'], // option and contract types, defaults and their resolution
  ['errors'],
  ['stats', 'tracing'], // counters every layer bumps (metrics/ reads them); OpenTelemetry spans
  ['connections'],
  ['broadcast'],
  ['events'],
  ['guards'],
  ['decorators'],
  ['cluster'],
  ['sessions'],
  ['auth'], // below rooms: the rooms layer answers auth's MembershipRecheck port
  ['presence'],
  ['history'],
  ['rooms'],
  ['discovery'],
  ['dispatch'],
  ['builtins'],
  ['server'],
  ['health'],
  ['metrics'],
  ['module'], // realtime.module.ts, realtime.module-definition.ts, realtime.providers.ts
  ['index'], // lib/index.ts, the public API
  // Entry layers: other package entry points (`nest-realtime/redis`, `/client`, `/testing`,
  // `/terminus`, `/jest`,
  // `/asyncapi`). Nothing in the server tree may import them.
  ['redis'],
  ['client'],
  ['testing'],
  ['terminus'],
  ['jest'],
  ['asyncapi'],
];

/** Layers that may import only the listed layers (besides themselves), whatever the order says. */
const ONLY = {
  // The client SDK runs in browsers: it shares the wire contract and nothing from the server.
  client: ['protocol'],
  // Read by a Jest config, in Node before the tests: nothing of Nest or of the server.
  jest: [],
};

/** Root files of lib/ and the layer each belongs to. */
const ROOT_FILES = {
  'realtime.constants.ts': 'constants',
  'realtime.messages.ts': 'constants',
  'realtime.module.ts': 'module',
  'realtime.module-definition.ts': 'module',
  'realtime.providers.ts': 'module',
  'index.ts': 'index',
};

/**
 * Back-up imports that are known and justified, as `from -> to` (paths under lib/). Each needs
 * a reason a reviewer can check; remove an entry when its import goes.
 */
const ALLOWED = {
  'presence/room-presence.ts -> rooms/room.ts': "type-only: reads a room's members (issue 13 item 3)",
  'presence/presence-windows.ts -> rooms/room.ts':
    "type-only: reads a room's size and settings, and keeps its per-interval presence budget on it",
};

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const lib = join(root, 'lib');
const rank = new Map(LAYERS.flatMap((group, i) => group.map((name) => [name, i])));

function layerOf(pathInLib) {
  const parts = pathInLib.split(sep);
  const layer = parts.length === 1 ? ROOT_FILES[parts[0]] : parts[0];
  if (layer === undefined || !rank.has(layer)) {
    throw new Error(`check-layers: lib/${pathInLib} is in no declared layer; add its folder to LAYERS`);
  }
  return layer;
}

function tsFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

const found = [];
/** File → files it imports (paths under lib/), for the circle check. */
const edges = new Map();
for (const file of tsFiles(lib)) {
  const source = readFileSync(file, 'utf8');
  const fromPath = relative(lib, file);
  const fromLayer = layerOf(fromPath);
  // TypeScript's own scanner: every import/export specifier (multi-line, type-only, dynamic).
  for (const { fileName: specifier, pos } of ts.preProcessFile(source, true, true).importedFiles) {
    if (!specifier.startsWith('.')) continue;
    let target = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
    if (!target.endsWith('.ts')) target = join(target, 'index.ts'); // a folder import
    const toPath = relative(lib, target);
    if (toPath.startsWith('..')) continue; // outside lib/ (none today)
    (edges.get(fromPath) ?? edges.set(fromPath, new Set()).get(fromPath)).add(toPath);
    const toLayer = layerOf(toPath);
    if (toLayer === fromLayer) continue;
    const only = ONLY[fromLayer];
    const up = only ? !only.includes(toLayer) : rank.get(toLayer) > rank.get(fromLayer);
    if (!up) continue;
    const line = source.slice(0, pos).split('\n').length;
    found.push({ from: fromPath.split(sep).join('/'), to: toPath.split(sep).join('/'), fromLayer, toLayer, line });
  }
}

let failures = 0;
const seen = new Set();
for (const edge of found) {
  const key = `${edge.from} -> ${edge.to}`;
  seen.add(key);
  const reason = ALLOWED[key];
  if (reason === undefined) failures++;
  const mark = reason === undefined ? 'UP     ' : 'allowed';
  console.log(`${mark} lib/${edge.from}:${edge.line} (${edge.fromLayer}) -> lib/${edge.to} (${edge.toLayer})`);
  if (reason !== undefined) console.log(`          ${reason}`);
}
for (const key of Object.keys(ALLOWED)) {
  if (!seen.has(key)) console.log(`stale   ${key}: no longer imported; remove it from ALLOWED`);
}
// Circles between files (within a layer too, type-only imports included): each is reported
// once, from its smallest path, and fails the check like a back-up import.
const circles = [];
const done = new Set();
function visit(file, stack) {
  const at = stack.indexOf(file);
  if (at !== -1) {
    const circle = stack.slice(at);
    const first = circle.indexOf([...circle].sort()[0]);
    circles.push([...circle.slice(first), ...circle.slice(0, first)].join(' -> '));
    return;
  }
  if (done.has(file)) return;
  stack.push(file);
  for (const next of edges.get(file) ?? []) visit(next, stack);
  stack.pop();
  done.add(file);
}
for (const file of [...edges.keys()].sort()) visit(file, []);
for (const circle of new Set(circles)) console.log(`CIRCLE  ${circle.split(sep).join('/')}`);
const circleCount = new Set(circles).size;
console.log(
  `check-layers: ${found.length} back-up import(s), ${failures} not allowed; ${circleCount} import circle(s)`,
);
process.exit(failures === 0 && circleCount === 0 ? 0 : 1);

// Type-checks an app that uses the *built* package the way a user's app does, with
// `skipLibCheck: false` and without the optional peer dependencies installed (`ioredis`,
// `@opentelemetry/api`, and what `nest-realtime/asyncapi` needs: class-validator,
// class-transformer, class-validator-jsonschema, yaml): the main entry point, `/client`,
// `/testing`, `/terminus` and `/jest` must compile there (no typing of the package may name the
// OpenTelemetry API: only apps that trace install it), and the main entry point must load at run
// time. As self-checks, a file importing `nest-realtime/redis` must fail there with TS2307 for
// ioredis, and loading `nest-realtime/asyncapi` must fail for a missing package (otherwise they
// were resolvable and the check proves nothing). Then, with those packages linked,
// `nest-realtime/asyncapi` must compile and load.
//
// Usage: npm run build && npm run check:consumer   (KEEP_CONSUMER=1 keeps the temp dir)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const rootModules = join(root, 'node_modules');
if (!existsSync(join(root, 'dist/lib/index.d.ts'))) {
  console.error('check:consumer: dist/ is missing; run `npm run build` first');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'nest-realtime-consumer-'));
const modules = join(dir, 'node_modules');
const installed = join(modules, 'nest-realtime');
mkdirSync(installed, { recursive: true });

// The package as published (`files` of package.json), unpacked where a user's install puts it.
const [{ filename }] = JSON.parse(
  execFileSync('npm', ['pack', '--json', '--silent', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }),
);
execFileSync('tar', ['-xzf', join(dir, filename), '-C', installed, '--strip-components=1']);

// Everything else the app would have, linked from ours: all but the optional peers (and ioredis's
// own scope) and OpenTelemetry.
const asyncApiPeers = ['class-validator', 'class-transformer', 'class-validator-jsonschema', 'yaml'];
const absent = new Set([
  'ioredis',
  '@ioredis',
  '@opentelemetry',
  ...asyncApiPeers,
  'nest-realtime',
  '.bin',
  '.package-lock.json',
  '.cache',
]);
for (const name of readdirSync(rootModules)) {
  if (!absent.has(name)) symlinkSync(join(rootModules, name), join(modules, name), 'dir');
}

const compilerOptions = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  skipLibCheck: false,
  noEmit: true,
  types: ['node'],
};
writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['app.ts'] }));
writeFileSync(join(dir, 'tsconfig.redis.json'), JSON.stringify({ compilerOptions, files: ['redis-app.ts'] }));
writeFileSync(join(dir, 'tsconfig.asyncapi.json'), JSON.stringify({ compilerOptions, files: ['asyncapi-app.ts'] }));
writeFileSync(
  join(dir, 'app.ts'),
  `import { Injectable, Module } from '@nestjs/common';
import {
  ConnectionManager,
  MessageDoc,
  OnMessage,
  RealtimeModule,
  RoomManager,
  type RealtimeModuleOptions,
} from 'nest-realtime';
import { RealtimeClient, type RealtimeClientOptions } from 'nest-realtime/client';
import { connectTestClient, createRealtimeTestingApp } from 'nest-realtime/testing';
import { RealtimeHealthIndicator } from 'nest-realtime/terminus';
import { jestModuleNameMapper } from 'nest-realtime/jest';

const options: RealtimeModuleOptions = { path: '/ws' };

@Injectable()
export class Notes {
  constructor(readonly rooms: RoomManager, readonly connections: ConnectionManager) {}
  @OnMessage('note.add')
  @MessageDoc({ summary: 'Adds a note', example: { text: 'hi' } })
  add(): string {
    return 'ok';
  }
}

@Module({ imports: [RealtimeModule.forRoot(options)], providers: [Notes] })
export class AppModule {}

export const clientOptions: RealtimeClientOptions = { url: 'ws://localhost/ws' };
export const client = new RealtimeClient(clientOptions);
export const helpers = [connectTestClient, createRealtimeTestingApp];

@Injectable()
export class Readiness {
  constructor(readonly realtime: RealtimeHealthIndicator) {}
  check() {
    return [this.realtime.isAccepting('realtime'), this.realtime.hasCapacity('connections', { thresholdPercent: 0.9 })];
  }
}
export const moduleNameMapper: Record<string, string> = jestModuleNameMapper({ packages: ['@nestjs/throttler'] });
`,
);
writeFileSync(
  join(dir, 'redis-app.ts'),
  `import { RedisClusterAdapter } from 'nest-realtime/redis';
export const adapter = new RedisClusterAdapter({ url: 'redis://localhost:6390' });
`,
);

writeFileSync(
  join(dir, 'asyncapi-app.ts'),
  `import type { INestApplication } from '@nestjs/common';
import { RealtimeAsyncApiModule, writeAsyncApiDocument, type AsyncApiDocument } from 'nest-realtime/asyncapi';
export async function document(app: INestApplication): Promise<AsyncApiDocument> {
  const doc = RealtimeAsyncApiModule.createDocument(app, { title: 'Notes', version: '1.0.0' });
  RealtimeAsyncApiModule.setup('asyncapi', app, doc);
  await writeAsyncApiDocument(doc, 'asyncapi.yaml');
  return doc;
}
`,
);

const tsc = join(rootModules, 'typescript/bin/tsc');
const run = (project) => spawnSync(process.execPath, [tsc, '-p', project], { cwd: dir, encoding: 'utf8' });
/** Loads an entry point of the package in a fresh Node process, from the consumer's folder. */
const load = (entry) =>
  spawnSync(process.execPath, ['--input-type=module', '-e', `import 'reflect-metadata'; await import('${entry}');`], {
    cwd: dir,
    encoding: 'utf8',
  });

let failed = false;
const app = run('tsconfig.json');
if (app.status === 0) {
  console.log(
    'check:consumer: nest-realtime, /client, /testing, /terminus and /jest compile with skipLibCheck: false, without ioredis, @opentelemetry/api and the AsyncAPI peers',
  );
} else {
  failed = true;
  console.error('check:consumer: a consumer without the optional peers does not compile:\n' + app.stdout + app.stderr);
}
const redis = run('tsconfig.redis.json');
if (redis.status !== 0 && /TS2307: Cannot find module 'ioredis'/.test(redis.stdout)) {
  console.log('check:consumer: (self-check) nest-realtime/redis needs ioredis, as expected');
} else {
  failed = true;
  console.error(
    'check:consumer: self-check failed: nest-realtime/redis should not compile without ioredis ' +
      '(is ioredis resolvable from the temp dir?)\n' +
      redis.stdout +
      redis.stderr,
  );
}
const main = load('nest-realtime');
if (main.status === 0) {
  console.log('check:consumer: nest-realtime loads without ioredis and the AsyncAPI peers');
} else {
  failed = true;
  console.error('check:consumer: nest-realtime does not load without the optional peers:\n' + main.stderr);
}
const withoutPeers = load('nest-realtime/asyncapi');
if (withoutPeers.status !== 0 && /ERR_MODULE_NOT_FOUND|Cannot find (package|module)/.test(withoutPeers.stderr)) {
  console.log('check:consumer: (self-check) nest-realtime/asyncapi needs its peers, as expected');
} else {
  failed = true;
  console.error(
    'check:consumer: self-check failed: nest-realtime/asyncapi should not load without its peers ' +
      '(are they resolvable from the temp dir?)\n' +
      withoutPeers.stderr,
  );
}
for (const name of asyncApiPeers) symlinkSync(join(rootModules, name), join(modules, name), 'dir');
const asyncapi = run('tsconfig.asyncapi.json');
const asyncapiLoad = load('nest-realtime/asyncapi');
if (asyncapi.status === 0 && asyncapiLoad.status === 0) {
  console.log('check:consumer: nest-realtime/asyncapi compiles (skipLibCheck: false) and loads with its peers');
} else {
  failed = true;
  console.error(
    'check:consumer: nest-realtime/asyncapi with its peers:\n' +
      asyncapi.stdout +
      asyncapi.stderr +
      asyncapiLoad.stderr,
  );
}
if (process.env.KEEP_CONSUMER) console.log(`check:consumer: kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);

// Type-checks an app that uses the *built* package the way a user's app does, with
// `skipLibCheck: false` and without `ioredis` or `@opentelemetry/api` installed: the main entry
// point, `/client` and `/testing` must compile there, since ioredis is an optional peer
// dependency needed only by `nest-realtime/redis`, and the OpenTelemetry API one needed only by
// apps that trace (no typing of the package may name it). As a self-check, a file importing `nest-realtime/redis` must fail there
// with TS2307 for ioredis (otherwise ioredis was resolvable and the check proves nothing).
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

// Everything else the app would have, linked from ours: all but ioredis (and its own scope) and
// OpenTelemetry.
const absent = new Set([
  'ioredis',
  '@ioredis',
  '@opentelemetry',
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
writeFileSync(
  join(dir, 'app.ts'),
  `import { Injectable, Module } from '@nestjs/common';
import { ConnectionManager, OnMessage, RealtimeModule, RoomManager, type RealtimeModuleOptions } from 'nest-realtime';
import { RealtimeClient, type RealtimeClientOptions } from 'nest-realtime/client';
import { connectTestClient, createRealtimeTestingApp } from 'nest-realtime/testing';

const options: RealtimeModuleOptions = { path: '/ws' };

@Injectable()
export class Notes {
  constructor(readonly rooms: RoomManager, readonly connections: ConnectionManager) {}
  @OnMessage('note.add')
  add(): string {
    return 'ok';
  }
}

@Module({ imports: [RealtimeModule.forRoot(options)], providers: [Notes] })
export class AppModule {}

export const clientOptions: RealtimeClientOptions = { url: 'ws://localhost/ws' };
export const client = new RealtimeClient(clientOptions);
export const helpers = [connectTestClient, createRealtimeTestingApp];
`,
);
writeFileSync(
  join(dir, 'redis-app.ts'),
  `import { RedisClusterAdapter } from 'nest-realtime/redis';
export const adapter = new RedisClusterAdapter({ url: 'redis://localhost:6390' });
`,
);

const tsc = join(rootModules, 'typescript/bin/tsc');
const run = (project) => spawnSync(process.execPath, [tsc, '-p', project], { cwd: dir, encoding: 'utf8' });

let failed = false;
const app = run('tsconfig.json');
if (app.status === 0) {
  console.log(
    'check:consumer: nest-realtime, /client and /testing compile with skipLibCheck: false, without ioredis or @opentelemetry/api',
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
if (process.env.KEEP_CONSUMER) console.log(`check:consumer: kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);

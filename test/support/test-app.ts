import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { RealtimeModule, type RealtimeModuleExtras, type RealtimeModuleOptions } from '../../lib/index.js';

export interface TestApp {
  app: INestApplication;
  /** `ws://127.0.0.1:PORT/ws` (or the configured path). */
  url: string;
  /** `http://127.0.0.1:PORT`. */
  http: string;
  close(): Promise<void>;
}

/**
 * Boots a real Nest application with the module on an ephemeral loopback port, the way a user's
 * e2e test would, plus any extra providers/controllers/imports of the fixture.
 */
export async function createTestApp(
  options: RealtimeModuleOptions = {},
  metadata: ModuleMetadata = {},
  configure?: (app: INestApplication) => void,
  extras: RealtimeModuleExtras = {},
): Promise<TestApp> {
  const moduleRef = await Test.createTestingModule({
    ...metadata,
    imports: [RealtimeModule.forRoot({ ...options, ...extras }), ...(metadata.imports ?? [])],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  configure?.(app);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const http = `http://127.0.0.1:${address.port}`;
  let closing: Promise<void> | undefined;
  return {
    app,
    http,
    url: `ws://127.0.0.1:${address.port}${options.path ?? '/ws'}`,
    // Idempotent, so that a test may close an app itself and still register it for cleanup.
    close: () => (closing ??= app.close()),
  };
}

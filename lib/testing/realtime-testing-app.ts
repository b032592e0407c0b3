import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import { connectTestClient, realtimeUrl, type TestClientOptions } from './connect-test-client.js';
import type { RealtimeTestClient } from './realtime-test-client.js';

/** A running app for e2e tests and the clients connected to it (closed together). */
export interface RealtimeTestingApp {
  app: INestApplication;
  /** `ws://127.0.0.1:PORT/ws` (the configured path). */
  url: string;
  /** `http://127.0.0.1:PORT`, for the app's HTTP routes. */
  httpUrl: string;
  /** A connected (and, with `user` or `token`, authenticated) client; disconnected by {@link close}. */
  connect(options?: TestClientOptions): Promise<RealtimeTestClient>;
  /** Disconnects every client, then closes the app. */
  close(): Promise<void>;
}

/**
 * Compiles a testing module (from metadata, or a builder with overrides), starts the app on a
 * free loopback port and hands back a way to connect clients (if `configure` or the start
 * throws, the app is closed and the error rethrown):
 *
 * ```ts
 * const t = await createRealtimeTestingApp({ imports: [AppModule] });
 * const ann = await t.connect({ user: { id: 'u1' } });
 * // ...
 * await t.close();
 * ```
 */
export async function createRealtimeTestingApp(
  module: ModuleMetadata | TestingModuleBuilder,
  configure?: (app: INestApplication) => void | Promise<void>,
): Promise<RealtimeTestingApp> {
  const builder = 'compile' in module ? module : Test.createTestingModule(module);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ logger: false });
  let url: string;
  try {
    await configure?.(app);
    url = await realtimeUrl(app);
  } catch (error) {
    // Not left half-started (a listening port, open connections to Redis) by a failed start.
    await app.close().catch(() => undefined);
    throw error;
  }
  const httpUrl = `http://${new URL(url).host}`;
  const clients: RealtimeTestClient[] = [];
  return {
    app,
    url,
    httpUrl,
    async connect(options) {
      const client = await connectTestClient(app, options);
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.splice(0).map((client) => client.disconnect()));
      await app.close();
    },
  };
}

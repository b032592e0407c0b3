import type { INestApplication } from '@nestjs/common';
import { WebSocket } from 'ws';
import { RealtimeClient, type RealtimeClientOptions } from '../client/realtime-client.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { RealtimeTestClient } from './realtime-test-client.js';
import { signTestToken, type TestUser } from './test-token.js';

/** Options of {@link connectTestClient}. */
export interface TestClientOptions {
  /** Authenticate as this user, with a token signed by the app's own `auth.secret`. */
  user?: TestUser;
  /** Or authenticate with this token (or provider). Neither: an anonymous client. */
  token?: RealtimeClientOptions['token'];
  /**
   * Anything else for the client. By default a test client does not reconnect and sends no
   * heartbeat, so a dropped connection shows in the test instead of being papered over.
   */
  client?: Partial<Omit<RealtimeClientOptions, 'url' | 'token'>>;
}

/**
 * The WebSocket URL of a Nest app with the realtime module, starting it on a free loopback port
 * if it is not listening yet.
 */
export async function realtimeUrl(app: INestApplication): Promise<string> {
  const server = app.getHttpServer() as { listening: boolean; address(): { port: number } | string | null };
  if (!server.listening) await app.listen(0, '127.0.0.1');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the app does not listen on a TCP port');
  const { path } = app.get<ResolvedRealtimeOptions>(RESOLVED_REALTIME_OPTIONS);
  return `ws://127.0.0.1:${address.port}${path}`;
}

/**
 * One call from a `@nestjs/testing` app to a connected, authenticated client:
 *
 * ```ts
 * const app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication();
 * const ann = await connectTestClient(app, { user: { id: 'u1', username: 'ann' } });
 * await ann.join('general');
 * ann.client.chat('general', 'hi');
 * expect((await ann.expectMessage('chat_message')).data.content).toBe('hi');
 * ```
 *
 * Resolves once the client is authenticated (rejects if the token is refused).
 */
export async function connectTestClient(
  app: INestApplication,
  options: TestClientOptions = {},
): Promise<RealtimeTestClient> {
  const url = await realtimeUrl(app);
  const token =
    options.token ??
    (options.user
      ? signTestToken(app.get<ResolvedRealtimeOptions>(RESOLVED_REALTIME_OPTIONS), options.user)
      : undefined);
  const client = new RealtimeClient({
    reconnect: false,
    heartbeat: false,
    WebSocket,
    ...options.client,
    url,
    token,
  });
  const testClient = new RealtimeTestClient(client);
  await client.connect();
  return testClient;
}

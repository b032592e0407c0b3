import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { WebSocket } from 'ws';
import { RealtimeClient, type RealtimeClientOptions } from '../../lib/client/index.js';
import { ConnectionManager } from '../../lib/index.js';
import { AppModule } from '../../sample/app.module.js';
import { loadSampleConfig } from '../../sample/sample.config.js';
import { hsToken } from '../support/tokens.js';

export const SAMPLE_SECRET = 'client-e2e-secret-0123456789abcdef';

/** The real sample app on a free loopback port, and what client tests do to it. */
export class SampleServer {
  private constructor(
    readonly app: INestApplication,
    readonly url: string,
    readonly http: string,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<SampleServer> {
    const config = loadSampleConfig({ JWT_SECRET: SAMPLE_SECRET, LOG_LEVEL: 'error', ...env });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    return new SampleServer(app, `ws://127.0.0.1:${port}/ws`, `http://127.0.0.1:${port}`);
  }

  /** A token for `userId`, valid for `ttlSeconds`. */
  token(userId: string, ttlSeconds = 3600): string {
    return hsToken(
      { user_id: userId, username: userId, exp: Math.floor(Date.now() / 1000) + ttlSeconds },
      SAMPLE_SECRET,
    );
  }

  /** A Node client of this server (`ws` injected), authenticated as `userId` unless `token` is given. */
  client(userId: string, options: Partial<RealtimeClientOptions> = {}): RealtimeClient {
    return new RealtimeClient({ url: this.url, WebSocket, token: this.token(userId), heartbeat: false, ...options });
  }

  /** The server-side connections of `userId`. */
  connectionsOf(userId: string) {
    return this.app.get(ConnectionManager).getByUser(userId);
  }

  /** Cuts every connection of `userId` on the server side, without a close frame (a dead network). */
  dropUser(userId: string): number {
    const connections = this.connectionsOf(userId);
    for (const connection of connections) connection.terminate();
    return connections.length;
  }

  /** Closes every connection of `userId` from the server with `code`. */
  closeUser(userId: string, code: number, reason = ''): number {
    const connections = this.connectionsOf(userId);
    for (const connection of connections) connection.close(code, reason);
    return connections.length;
  }

  close(): Promise<void> {
    return this.app.close();
  }
}

/** Resolves with the next `event` of `client` (its own events, not frames). */
export function nextEvent<E extends Parameters<RealtimeClient['onEvent']>[0]>(
  client: RealtimeClient,
  event: E,
  timeoutMs = 5000,
): Promise<Parameters<Parameters<RealtimeClient['onEvent']>[1]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no "${event}" event within ${timeoutMs} ms (state ${client.state})`));
    }, timeoutMs);
    const off = client.onEvent(event, ((payload: never) => {
      clearTimeout(timer);
      off();
      resolve(payload);
    }) as never);
  });
}

import type { Server as HttpServer } from 'node:http';
import { type CanActivate, type INestApplication, Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { afterEach, describe, expect, it } from '@jest/globals';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { RealtimeModule } from '../../lib/index.js';
import { TestClient } from '../support/test-client.js';

/** An ordinary Nest gateway on its own path, served by `WsAdapter`. */
@WebSocketGateway({ path: '/legacy' })
class LegacyWsGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown): { event: string; data: unknown } {
    return { event: 'echo', data };
  }
}

/** An ordinary socket.io gateway (default path `/socket.io/`), served by `IoAdapter`. */
@WebSocketGateway()
class LegacyIoGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown): unknown {
    return data;
  }
}

/**
 * A connection guard slower than engine.io's `destroyUpgradeTimeout` (1 s): engine.io ends an
 * upgrade it does not own when nothing was written on it by then.
 */
@Injectable()
class SlowGuard implements CanActivate {
  async canActivate(): Promise<boolean> {
    await new Promise((resolve) => setTimeout(resolve, 1300));
    return true;
  }
}

type Order = 'gateway first' | 'module first';

/**
 * Nest connects gateways before `onApplicationBootstrap`, so the adapter's upgrade listener is
 * added first. 'module first' moves ours ahead of it: the order an app gets when the other
 * upgrade owner (a gateway of a second adapter, a dev server) attaches later.
 */
function putModuleFirst(server: HttpServer): void {
  const listeners = server.listeners('upgrade') as ((...args: unknown[]) => void)[];
  server.removeAllListeners('upgrade');
  for (const listener of [listeners.at(-1)!, ...listeners.slice(0, -1)]) server.on('upgrade', listener);
}

async function boot(
  gateway: new () => unknown,
  adapter: 'ws' | 'io',
  order: Order,
  slowGuard = false,
): Promise<{ app: INestApplication; port: number }> {
  const moduleRef = await Test.createTestingModule({
    imports: [RealtimeModule.forRoot({ path: '/ws', connectionGuards: slowGuard ? [SlowGuard] : [] })],
    providers: [gateway],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.useWebSocketAdapter(adapter === 'ws' ? new WsAdapter(app) : new IoAdapter(app));
  await app.init();
  const server = app.getHttpServer() as HttpServer;
  expect(server.listenerCount('upgrade')).toBe(2);
  if (order === 'module first') putModuleFirst(server);
  await app.listen(0, '127.0.0.1');
  return { app, port: (server.address() as { port: number }).port };
}

/** Our endpoint answers: `connected`, then `pong` to a `ping`. */
async function expectRealtime(port: number): Promise<void> {
  const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
  expect((await client.next('connected')).type).toBe('connected');
  expect((await client.request({ type: 'ping', id: 'p1' })).type).toBe('pong');
  await client.close();
}

async function expectLegacyWs(port: number): Promise<void> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/legacy`);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const answer = new Promise<unknown>((resolve) => socket.once('message', (data) => resolve(JSON.parse(`${data}`))));
  socket.send(JSON.stringify({ event: 'echo', data: 'hello legacy' }));
  expect(await answer).toEqual({ event: 'echo', data: 'hello legacy' });
  socket.close();
}

async function expectLegacyIo(port: number): Promise<void> {
  const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'], reconnection: false });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    expect(await socket.timeout(3000).emitWithAck('echo', 'hello io')).toBe('hello io');
  } finally {
    socket.disconnect();
  }
}

describe('coexistence with other WebSocket adapters on the same HTTP server', () => {
  let app: INestApplication | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  describe.each<Order>(['gateway first', 'module first'])('WsAdapter gateway at /legacy, %s', (order) => {
    it('serves both endpoints', async () => {
      const booted = await boot(LegacyWsGateway, 'ws', order);
      app = booted.app;
      await expectRealtime(booted.port);
      await expectLegacyWs(booted.port);
      // Both at once, interleaved.
      await Promise.all([expectRealtime(booted.port), expectLegacyWs(booted.port), expectRealtime(booted.port)]);
    });
  });

  describe.each<Order>(['gateway first', 'module first'])('IoAdapter gateway, %s', (order) => {
    it('serves both endpoints', async () => {
      const booted = await boot(LegacyIoGateway, 'io', order);
      app = booted.app;
      await expectRealtime(booted.port);
      await expectLegacyIo(booted.port);
      await Promise.all([expectRealtime(booted.port), expectLegacyIo(booted.port)]);
    });

    it('keeps a handshake that takes longer than engine.io destroyUpgradeTimeout', async () => {
      const booted = await boot(LegacyIoGateway, 'io', order, true);
      app = booted.app;
      await expectRealtime(booted.port);
    });
  });

  it('still answers 404 for a path nobody owns, next to another adapter', async () => {
    const booted = await boot(LegacyWsGateway, 'ws', 'module first');
    app = booted.app;
    const socket = new WebSocket(`ws://127.0.0.1:${booted.port}/nobody`);
    // WsAdapter destroys what it does not own; our listener leaves foreign paths to it.
    const outcome = await new Promise<string>((resolve) => {
      socket.once('unexpected-response', (_req, res) => resolve(`status ${res.statusCode}`));
      socket.once('error', (error) => resolve(error.message));
    });
    expect(outcome).toBe('socket hang up');
  });

  it('gives the HTTP server its own emit back at close', async () => {
    const booted = await boot(LegacyWsGateway, 'ws', 'gateway first');
    const server = booted.app.getHttpServer() as HttpServer;
    expect(Object.hasOwn(server, 'emit')).toBe(true);
    await booted.app.close();
    expect(Object.hasOwn(server, 'emit')).toBe(false);
  });
});

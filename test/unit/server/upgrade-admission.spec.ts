import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { WebSocket, WebSocketServer } from 'ws';
import type { ConnectionManager } from '../../../lib/connections/connection.manager.js';
import type { RealtimeConnection } from '../../../lib/connections/realtime-connection.js';
import { type HandshakeAdmission, HandshakeRefusal } from '../../../lib/auth/handshake-admission.js';
import type { Authentication } from '../../../lib/auth/authenticator.js';
import { resolveRealtimeOptions } from '../../../lib/options/resolve-options.js';
import { RealtimeStats, type UpgradeRejection } from '../../../lib/stats/realtime-stats.js';
import { UpgradeAdmission } from '../../../lib/server/upgrade-admission.js';

/** A TCP socket as far as admission uses it: what abortHandshake wrote is kept in `answer`. */
class FakeSocket extends EventEmitter {
  writable = true;
  answer = '';
  cork(): void {}
  uncork(): void {}
  destroy(): void {}
  end(text: string): void {
    this.answer = text;
  }
  get status(): number | undefined {
    const match = /^HTTP\/1\.1 (\d+)/.exec(this.answer);
    return match ? Number(match[1]) : undefined;
  }
}

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((ok, fail) => ((resolve = ok), (reject = fail)));
  return { promise, resolve, reject };
}

describe('UpgradeAdmission', () => {
  let admission: UpgradeAdmission | undefined;
  afterEach(() => {
    admission?.stop();
    jest.restoreAllMocks();
  });

  function setup(options: Parameters<typeof resolveRealtimeOptions>[0], admit: HandshakeAdmission['admit']) {
    const stats = new RealtimeStats();
    const connections = { count: 0 };
    const wss = { handleUpgrade: jest.fn((_r, _s, _h, done: (ws: WebSocket) => void) => done({} as WebSocket)) };
    const open = jest.fn();
    const server = createServer();
    admission = new UpgradeAdmission(
      resolveRealtimeOptions(options),
      stats,
      { admit } as HandshakeAdmission,
      connections as ConnectionManager,
      wss as unknown as WebSocketServer,
      open,
    );
    admission.start(server);
    const upgrade = (address = '192.0.2.1', url = '/ws', origin = 'https://ok.example'): FakeSocket => {
      const socket = new FakeSocket();
      const request = { url, headers: { origin }, socket: { remoteAddress: address } } as unknown as IncomingMessage;
      server.emit('upgrade', request, socket as unknown as Duplex, Buffer.alloc(0));
      return socket;
    };
    const rejected = (): Partial<Record<UpgradeRejection, number>> =>
      Object.fromEntries(Object.entries(stats.rejectedUpgrades).filter(([, count]) => count > 0));
    return { admission, connections, open, upgrade, rejected };
  }

  const connectionFrom = (remoteAddress: string) => ({ remoteAddress }) as RealtimeConnection;

  it('answers each refusal with its status and counts it under its own reason', () => {
    let refusal: unknown;
    const { upgrade, rejected } = setup({ maxConnectionsPerAddress: 1 }, () => {
      throw refusal;
    });
    const statuses: number[] = [];
    for (refusal of [new HandshakeRefusal(401), new HandshakeRefusal(403), new HandshakeRefusal(429), new Error('x')]) {
      statuses.push(upgrade().status!);
    }
    // Only our own listener is on the server: a foreign path is answered rather than left hanging.
    statuses.push(upgrade('192.0.2.1', '/elsewhere').status!);
    expect(statuses).toEqual([401, 403, 429, 500, 404]);
    expect(rejected()).toEqual({ unauthorized: 1, forbidden: 1, user_limit: 1, error: 1, bad_request: 1 });
  });

  it('checks draining, origin, capacity and the address limit in that order', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { admission, connections, upgrade, rejected } = setup(
      { maxConnections: 2, maxConnectionsPerAddress: 1, allowedOrigins: ['https://ok.example'] },
      () => undefined,
    );
    admission.connectionOpened(connectionFrom('192.0.2.1'), false);
    expect(upgrade('192.0.2.1').status).toBe(429);
    connections.count = 2;
    expect(upgrade('192.0.2.1').status).toBe(503);
    expect(upgrade('192.0.2.1', '/ws', 'https://evil.example').status).toBe(403);
    admission.stopAccepting();
    expect(upgrade('192.0.2.1', '/ws', 'https://evil.example').status).toBe(503);
    expect(rejected()).toEqual({ address_limit: 1, capacity: 1, origin: 1, draining: 1 });
    // The lines operators know, under the server's log context.
    expect(warn.mock.calls).toEqual([
      ['maxConnectionsPerAddress (1) reached for 192.0.2.1: refusing an upgrade'],
      ['maxConnections (2) reached: refusing an upgrade'],
    ]);
    expect(warn.mock.contexts.map((logger) => (logger as { context?: string }).context)).toEqual([
      'RealtimeServer',
      'RealtimeServer',
    ]);
  });

  it('holds a slot and the address while a handshake is checked, and gives both back on a refusal', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const check = deferred<Authentication | undefined>();
    const { admission, open, upgrade, rejected } = setup({ maxConnectionsPerAddress: 1 }, () => check.promise);
    const socket = upgrade('192.0.2.1');
    expect(admission.connectionSlotsInUse).toBe(1);
    expect([...admission.connectionsPerAddress()]).toEqual([['192.0.2.1', 1]]);
    expect(upgrade('192.0.2.1').status).toBe(429);
    check.reject(new HandshakeRefusal(401));
    await check.promise.catch(() => undefined);
    expect(socket.status).toBe(401);
    expect(open).not.toHaveBeenCalled();
    expect(admission.connectionSlotsInUse).toBe(0);
    expect([...admission.connectionsPerAddress()]).toEqual([]);
    expect(rejected()).toEqual({ address_limit: 1, unauthorized: 1 });
  });

  it('opens an admitted handshake with its address already counted, once, until the connection closes', async () => {
    const check = deferred<Authentication | undefined>();
    const { admission, open, upgrade } = setup({ maxConnectionsPerAddress: 2 }, () => check.promise);
    upgrade('192.0.2.1');
    check.resolve(undefined);
    await check.promise;
    expect(open).toHaveBeenCalledWith(expect.anything(), expect.anything(), undefined, '192.0.2.1', true);
    const connection = connectionFrom('192.0.2.1');
    admission.connectionOpened(connection, true);
    expect([...admission.connectionsPerAddress()]).toEqual([['192.0.2.1', 1]]);
    admission.connectionClosed(connection);
    expect([...admission.connectionsPerAddress()]).toEqual([]);
  });

  it('refuses the handshakes still being checked when it stops accepting (503)', () => {
    const { admission, upgrade, rejected } = setup({ maxConnectionsPerAddress: 1 }, () => new Promise(() => {}));
    const socket = upgrade('192.0.2.1');
    admission.stopAccepting();
    expect(socket.status).toBe(503);
    expect(admission.connectionSlotsInUse).toBe(0);
    expect([...admission.connectionsPerAddress()]).toEqual([]);
    expect(rejected()).toEqual({ draining: 1 });
  });
});

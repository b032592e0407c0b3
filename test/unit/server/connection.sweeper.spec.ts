import { describe, expect, it, jest } from '@jest/globals';
import type { WebSocket } from 'ws';
import { ConnectionManager } from '../../../lib/connections/connection.manager.js';
import { RealtimeConnection } from '../../../lib/connections/realtime-connection.js';
import { RealtimeStats } from '../../../lib/stats/realtime-stats.js';
import { resolveRealtimeOptions } from '../../../lib/options/resolve-options.js';
import { ConnectionSweeper } from '../../../lib/server/connection.sweeper.js';

function fakeSocket(): WebSocket & { ping: jest.Mock; terminate: jest.Mock; close: jest.Mock } {
  return { readyState: 1, bufferedAmount: 0, ping: jest.fn(), terminate: jest.fn(), close: jest.fn() } as never;
}

function setup(options: Parameters<typeof resolveRealtimeOptions>[0]) {
  const manager = new ConnectionManager();
  const stats = new RealtimeStats();
  const sweeper = new ConnectionSweeper(manager, stats, resolveRealtimeOptions(options));
  const socket = fakeSocket();
  const connection = new RealtimeConnection('c1', 's1', socket, '127.0.0.1', 0);
  manager.add(connection);
  return { sweeper, socket, connection, stats, manager };
}

describe('ConnectionSweeper', () => {
  it('pings once per pingInterval and terminates after pongTimeout without a pong', () => {
    const { sweeper, socket, connection } = setup({ pingInterval: 100, pongTimeout: 300 });
    sweeper.heartbeat(50);
    expect(socket.ping).not.toHaveBeenCalled();
    sweeper.heartbeat(100);
    sweeper.heartbeat(150);
    expect(socket.ping).toHaveBeenCalledTimes(1);
    connection.lastPongAt = 250; // the peer answered
    sweeper.heartbeat(500);
    expect(socket.terminate).not.toHaveBeenCalled();
    expect(socket.ping).toHaveBeenCalledTimes(2);
    sweeper.heartbeat(551);
    expect(socket.terminate).toHaveBeenCalledTimes(1);
  });

  it('closes a writer whose buffer has not shrunk for writeTimeout with 1013', () => {
    const { sweeper, socket, stats } = setup({ writeTimeout: 1000 });
    (socket as { bufferedAmount: number }).bufferedAmount = 500;
    sweeper.cleanup(0);
    sweeper.cleanup(600);
    (socket as { bufferedAmount: number }).bufferedAmount = 400; // drained a bit: the clock restarts
    sweeper.cleanup(900);
    sweeper.cleanup(1800);
    expect(socket.close).not.toHaveBeenCalled();
    (socket as { bufferedAmount: number }).bufferedAmount = 800;
    sweeper.cleanup(1900);
    expect(socket.close).toHaveBeenCalledWith(1013, 'slow consumer');
    expect(stats.serverCloses.get(1013)).toBe(1);
  });

  it('terminates after readTimeout without any inbound frame and closes idle connections', () => {
    const silent = setup({ pingInterval: 100, pongTimeout: 200, readTimeout: 500 });
    silent.connection.lastSeenAt = 100;
    silent.sweeper.cleanup(600);
    expect(silent.socket.terminate).not.toHaveBeenCalled();
    silent.sweeper.cleanup(601);
    expect(silent.socket.terminate).toHaveBeenCalled();

    const idle = setup({ connectionTimeout: 1000 });
    idle.connection.lastActiveAt = 0;
    idle.sweeper.cleanup(1001);
    expect(idle.socket.close).toHaveBeenCalledWith(1000, 'idle timeout');
  });

  it('drops registry entries whose socket is already closed', () => {
    const { sweeper, socket, manager } = setup({});
    (socket as { readyState: number }).readyState = 3;
    sweeper.cleanup(1);
    expect(manager.count).toBe(0);
  });
});

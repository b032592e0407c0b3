import { describe, expect, it, jest } from '@jest/globals';
import type { WebSocket } from 'ws';
import { ConnectionManager } from '../../../lib/connections/connection.manager.js';
import { RealtimeConnection } from '../../../lib/connections/realtime-connection.js';
import { RealtimeStats } from '../../../lib/stats/realtime-stats.js';
import { resolveRealtimeOptions } from '../../../lib/options/resolve-options.js';
import { ConnectionSweeper, heartbeatTick } from '../../../lib/server/connection.sweeper.js';

/** A socket that writes a ping out at once, as one with nothing queued before it does. */
function fakeSocket(): WebSocket & { ping: jest.Mock; terminate: jest.Mock; close: jest.Mock } {
  const ping = jest.fn((...args: unknown[]) => (args[2] as ((error?: Error) => void) | undefined)?.());
  return { readyState: 1, bufferedAmount: 0, ping, terminate: jest.fn(), close: jest.fn() } as never;
}

/** A socket whose ping waits behind frames queued before it until `flush()`. */
function backloggedSocket() {
  const socket = fakeSocket();
  let written: ((error?: Error) => void) | undefined;
  socket.ping.mockImplementation((...args: unknown[]) => {
    written = args[2] as typeof written;
  });
  return Object.assign(socket, { flush: () => written?.() });
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
  describe('a ping queued behind frames the peer is still reading', () => {
    function backlogged(writeTimeout: number) {
      const manager = new ConnectionManager();
      const stats = new RealtimeStats();
      const sweeper = new ConnectionSweeper(
        manager,
        stats,
        resolveRealtimeOptions({ pingInterval: 100, pongTimeout: 300, writeTimeout }),
      );
      const socket = backloggedSocket();
      const connection = new RealtimeConnection('c1', 's1', socket, '127.0.0.1', 0);
      manager.add(connection);
      return { sweeper, socket, stats };
    }

    it('gets the whole pongTimeout from when it was written out, not from when it was queued', () => {
      const { sweeper, socket, stats } = backlogged(30_000);
      sweeper.heartbeat(100); // pinged at 100, behind a backlog
      expect(socket.ping).toHaveBeenCalledTimes(1);
      for (let now = 150; now <= 2000; now += 50) sweeper.heartbeat(now); // the peer reads for 1.9 s
      expect(socket.terminate).not.toHaveBeenCalled();
      socket.flush(); // the ping is out at last
      sweeper.heartbeat(2050); // the first pass to see it: its deadline is 2350
      sweeper.heartbeat(2350);
      sweeper.heartbeat(2400); // judged at 2350: not past yet
      expect(socket.terminate).not.toHaveBeenCalled();
      sweeper.heartbeat(2450); // judged at 2400: 350 ms unanswered since written
      expect(socket.terminate).toHaveBeenCalledTimes(1);
      expect(stats.heartbeatTimeouts).toBe(1);
    });

    it('is judged from when it was queued when writeTimeout is off (nothing else cuts a peer that stopped reading)', () => {
      const { sweeper, socket } = backlogged(0);
      sweeper.heartbeat(100);
      sweeper.heartbeat(400);
      sweeper.heartbeat(450); // judged at 400: 300 ms, not past
      expect(socket.terminate).not.toHaveBeenCalled();
      sweeper.heartbeat(500); // judged at 450: 350 ms since queued
      expect(socket.terminate).toHaveBeenCalledTimes(1);
    });
  });

  it('pings pingInterval after the last answered ping and terminates pongTimeout after an unanswered one', () => {
    const { sweeper, socket, connection, stats } = setup({ pingInterval: 100, pongTimeout: 300 });
    sweeper.heartbeat(50);
    expect(socket.ping).not.toHaveBeenCalled();
    sweeper.heartbeat(100);
    sweeper.heartbeat(150);
    expect(socket.ping).toHaveBeenCalledTimes(1);
    connection.lastPongAt = 250; // the peer answered
    sweeper.heartbeat(500);
    expect(socket.ping).toHaveBeenCalledTimes(2); // pinged at 500: its deadline is 800
    sweeper.heartbeat(551);
    sweeper.heartbeat(800);
    sweeper.heartbeat(850); // judged at the previous pass (800): not past the deadline yet
    expect(socket.terminate).not.toHaveBeenCalled();
    expect(socket.ping).toHaveBeenCalledTimes(2); // one ping outstanding at a time
    sweeper.heartbeat(900); // the pass at 850 was past the deadline, and still no pong
    expect(socket.terminate).toHaveBeenCalledTimes(1);
    expect(stats.heartbeatTimeouts).toBe(1);
  });

  it('gives a peer the whole pongTimeout after its ping, even when pongTimeout < pingInterval', () => {
    const { sweeper, socket, connection, stats } = setup({ pingInterval: 1000, pongTimeout: 200 });
    sweeper.heartbeat(1000);
    expect(socket.ping).toHaveBeenCalledTimes(1);
    sweeper.heartbeat(1150);
    sweeper.heartbeat(1190);
    connection.lastPongAt = 1195; // 195 ms after the ping: in time
    sweeper.heartbeat(1250);
    sweeper.heartbeat(1999);
    expect(socket.terminate).not.toHaveBeenCalled();
    expect(socket.ping).toHaveBeenCalledTimes(1);
    sweeper.heartbeat(2000);
    expect(socket.ping).toHaveBeenCalledTimes(2);
    sweeper.heartbeat(2201);
    sweeper.heartbeat(2210);
    expect(socket.terminate).toHaveBeenCalledTimes(1);
    expect(stats.heartbeatTimeouts).toBe(1);
  });

  it('does not count a stalled event loop against the peers: a late pass cuts no one', () => {
    const { sweeper, socket, connection, stats } = setup({ pingInterval: 100, pongTimeout: 300 });
    sweeper.heartbeat(100); // ping; then the loop is blocked for 3 s
    sweeper.heartbeat(3100); // late: the pong that came meanwhile has not been read yet
    expect(socket.terminate).not.toHaveBeenCalled();
    connection.lastPongAt = 3101; // read in the poll phase after the late pass
    sweeper.heartbeat(3150);
    expect(socket.terminate).not.toHaveBeenCalled();
    expect(stats.heartbeatTimeouts).toBe(0);
    expect(socket.ping).toHaveBeenCalledTimes(2); // the late pass pinged nothing (one outstanding); 3150 did
  });

  it('runs the heartbeat pass at a quarter of the shorter period, between 10 ms and 1 s', () => {
    expect(heartbeatTick({ pingInterval: 25_000, pongTimeout: 20_000 })).toBe(1000);
    expect(heartbeatTick({ pingInterval: 200, pongTimeout: 500 })).toBe(50);
    expect(heartbeatTick({ pingInterval: 20, pongTimeout: 20 })).toBe(10);
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

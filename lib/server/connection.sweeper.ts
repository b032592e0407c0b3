import type { ConnectionManager } from '../connections/connection.manager.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import type { RealtimeStats } from '../stats/realtime-stats.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { CloseCode, CloseReason } from '../protocol/close-codes.js';
import { ErrorCode, ErrorFrameType } from '../protocol/error-codes.js';

/**
 * Heartbeats and timeouts for every connection, driven by two timers for the whole node instead
 * of timers per connection (10 000 idle connections cost two timers, not 20 000).
 *
 * - Heartbeat tick (see {@link heartbeatTick}): a connection whose last ping is `pingInterval` old
 *   and answered is pinged again; one whose ping has gone unanswered for `pongTimeout` is
 *   terminated (see {@link ConnectionSweeper.heartbeat}). A peer that stops answering is cut
 *   within `pingInterval + pongTimeout` plus three ticks.
 * - Cleanup pass (every `cleanupInterval`): idle (`connectionTimeout`), silent (`readTimeout`) and
 *   stuck-writer (`writeTimeout`) connections.
 */
export class ConnectionSweeper {
  /** When the previous heartbeat pass ran: the time its deadlines are judged against. */
  private previousHeartbeat = Number.NEGATIVE_INFINITY;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private cleanupTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connections: ConnectionManager,
    private readonly stats: RealtimeStats,
    private readonly options: ResolvedRealtimeOptions,
    /** Removes a connection from the server's registries (the close listener did not run). */
    private readonly forget: (connection: RealtimeConnection) => void = (c) => connections.remove(c),
    /** More cleanup to run on each pass (expired sessions). */
    private readonly alsoCleanup: (now: number) => void = () => undefined,
  ) {}

  start(): void {
    const { cleanupInterval } = this.options;
    this.heartbeatTimer = setInterval(() => this.heartbeat(Date.now()), heartbeatTick(this.options)).unref();
    this.cleanupTimer = setInterval(() => this.cleanup(Date.now()), cleanupInterval).unref();
    const auth = this.options.auth;
    if (auth) {
      // Token expiry is checked every second (finer when the grace period is short), which is
      // how late a `TOKEN_EXPIRED` may come; a per-connection timer would cost memory per socket.
      const tick = Math.max(10, Math.min(1000, Math.floor(auth.expiryGracePeriod / 4) || 1000));
      this.expiryTimer = setInterval(() => this.expireTokens(Date.now()), tick).unref();
    }
  }

  stop(): void {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.cleanupTimer);
    clearInterval(this.expiryTimer);
    this.heartbeatTimer = this.cleanupTimer = this.expiryTimer = undefined;
  }

  /**
   * A connection that has not authenticated within `authTimeout` (when authentication is
   * required) is closed with 4001.
   *
   * At `exp` a connection gets `TOKEN_EXPIRED` and stops counting as authenticated; unless it
   * sends a fresh `auth` within `expiryGracePeriod`, it is closed with 4001.
   */
  expireTokens(now: number): void {
    const grace = this.options.auth?.expiryGracePeriod ?? 0;
    const authTimeout = this.options.auth?.required ? this.options.authTimeout : 0;
    for (const connection of this.connections.connections()) {
      if (authTimeout > 0 && connection.user === undefined && now - connection.createdAt >= authTimeout) {
        if (connection.isOpen) this.close(connection, CloseCode.TOKEN_EXPIRED, CloseReason.AUTHENTICATION_TIMEOUT);
        continue;
      }
      const expiresAt = connection.tokenExpiresAt;
      if (expiresAt === 0 || now < expiresAt || connection.user === undefined || !connection.isOpen) continue;
      if (connection.tokenExpiredAt === 0) {
        connection.tokenExpiredAt = now;
        connection.send({
          type: ErrorFrameType.ERROR,
          data: { code: ErrorCode.TOKEN_EXPIRED, message: `token expired; send a fresh auth within ${grace} ms` },
        });
      }
      if (now - connection.tokenExpiredAt >= grace) {
        this.close(connection, CloseCode.TOKEN_EXPIRED, CloseReason.TOKEN_EXPIRED);
      }
    }
  }

  /**
   * Pings connections whose last ping was answered `pingInterval` ago, and terminates those whose
   * ping has gone unanswered for `pongTimeout` — measured from the ping being written out (see
   * {@link pongDeadlineFrom}), so a peer always gets the whole `pongTimeout` to answer, whatever
   * `pingInterval` is. One ping is outstanding at a time.
   *
   * The deadline is judged against the time of the **previous** pass, not this one: a starved
   * event loop (a long GC, a connect storm, a busy handler) runs this pass late and before the
   * poll phase that reads the pongs which arrived meanwhile. Judged against now, every
   * connection pinged before the stall would be cut at once — healthy clients, who then all
   * reconnect together. A pong already received by the kernel at the previous pass has been read
   * by now (at least one poll phase ran in between), so only a peer that was already late then
   * and has still not answered is cut.
   */
  heartbeat(now: number): void {
    const { pingInterval, pongTimeout, writeTimeout } = this.options;
    const judgedAt = this.previousHeartbeat;
    this.previousHeartbeat = now;
    for (const connection of this.connections.connections()) {
      const pingAt = connection.lastPingAt;
      // The open counts as an answered ping; a pong in the same millisecond as its ping answers it.
      if (connection.lastPongAt < pingAt) {
        if (connection.pingWrittenAt === 0 && connection.pingWritten) connection.pingWrittenAt = now;
        const from = pongDeadlineFrom(connection, pingAt, writeTimeout);
        if (judgedAt - from > pongTimeout) {
          this.stats.heartbeatTimeouts++;
          connection.terminate();
        }
      } else if (now - pingAt >= pingInterval && connection.isOpen) {
        this.ping(connection, now);
      }
    }
  }

  private ping(connection: RealtimeConnection, now: number): void {
    connection.lastPingAt = now;
    connection.pingWritten = false;
    connection.pingWrittenAt = 0;
    connection.socket.ping(undefined, undefined, (error?: Error) => {
      if (!error) connection.pingWritten = true;
    });
    // Written at once (nothing queued before it): its deadline runs from now.
    if (connection.pingWritten) connection.pingWrittenAt = now;
  }

  cleanup(now: number): void {
    this.alsoCleanup(now);
    const { connectionTimeout, readTimeout, writeTimeout } = this.options;
    for (const connection of this.connections.connections()) {
      if (connection.socket.readyState === 3) {
        // Closed without our close listener having run (should not happen): do not leak it.
        this.forget(connection);
        continue;
      }
      if (readTimeout > 0 && now - connection.lastSeenAt > readTimeout) {
        connection.terminate();
      } else if (connectionTimeout > 0 && now - connection.lastActiveAt > connectionTimeout) {
        this.close(connection, CloseCode.NORMAL, 'idle timeout');
      } else if (writeTimeout > 0 && this.isStuckWriter(connection, now, writeTimeout)) {
        this.close(connection, CloseCode.TRY_AGAIN_LATER, 'slow consumer');
      }
    }
  }

  /** True when the socket has had unsent bytes for `writeTimeout` without draining any. */
  private isStuckWriter(connection: RealtimeConnection, now: number, writeTimeout: number): boolean {
    const buffered = connection.socket.bufferedAmount;
    if (buffered === 0 || buffered < connection.stalledBufferedAmount) {
      connection.stalledBufferedAmount = buffered;
      connection.stalledSince = now;
      return false;
    }
    if (connection.stalledBufferedAmount === 0) {
      connection.stalledBufferedAmount = buffered;
      connection.stalledSince = now;
      return false;
    }
    connection.stalledBufferedAmount = buffered;
    return now - connection.stalledSince >= writeTimeout;
  }

  private close(connection: RealtimeConnection, code: number, reason: string): void {
    this.stats.countServerClose(code);
    connection.close(code, reason);
  }
}

/**
 * When a ping's `pongTimeout` starts: once the ping has been written out to the peer's socket,
 * not when it was queued behind frames the peer is still reading (a replay or a burst to a slow
 * reader) — the peer cannot answer what it has not been sent, and it is reading: judging it from
 * the queueing cut live slow readers, who then came back as a reconnect herd. A peer that stops
 * reading is cut by `writeTimeout` (its buffer does not drain); with that off, the ping is judged
 * from when it was queued, as before.
 */
function pongDeadlineFrom(connection: RealtimeConnection, pingAt: number, writeTimeout: number): number {
  if (connection.pingWrittenAt !== 0) return connection.pingWrittenAt;
  return writeTimeout > 0 ? Number.POSITIVE_INFINITY : pingAt;
}

/**
 * How often the heartbeat pass runs: a quarter of the shorter of `pingInterval` and `pongTimeout`
 * (so a ping is at most that late, and a deadline is seen at most that late), between 10 ms and
 * one second. A pass walks every connection; at a second that is well under a millisecond of CPU
 * for ten thousand connections, and spreads the pings of connections opened together.
 */
export function heartbeatTick(options: Pick<ResolvedRealtimeOptions, 'pingInterval' | 'pongTimeout'>): number {
  return Math.max(10, Math.min(1000, Math.floor(Math.min(options.pingInterval, options.pongTimeout) / 4)));
}

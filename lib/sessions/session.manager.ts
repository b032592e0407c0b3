import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ClusterAdapter } from '../cluster/cluster.adapter.js';
import { ConnectionManager } from '../connections/connection.manager.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { RealtimeStats } from '../stats/realtime-stats.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { CloseCode } from '../protocol/close-codes.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { RealtimeSession } from './realtime-session.js';
import { fitCloseReason } from '../utils/close-reason.js';

/**
 * The registry of sessions on this node. Every connection belongs to one (its id is sent as
 * `connected.session_id`); a user may have several (tabs, devices). A session whose connection
 * dropped is kept for `sessionTtl` with its rooms and metadata, then purged by the cleanup pass.
 */
@Injectable()
export class SessionManager {
  private readonly sessions = new Map<string, RealtimeSession>();

  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly connections: ConnectionManager,
    private readonly stats: RealtimeStats,
    private readonly cluster: ClusterAdapter,
  ) {}

  /** Sessions on this node, attached or waiting to be resumed. */
  get count(): number {
    return this.sessions.size;
  }

  get(sessionId: string): RealtimeSession | undefined {
    return this.sessions.get(sessionId);
  }

  /** Iterates over all sessions (attached and detached). */
  all(): IterableIterator<RealtimeSession> {
    return this.sessions.values();
  }

  /** Sessions of a user on this node. */
  byUser(userId: string): RealtimeSession[] {
    return [...this.sessions.values()].filter((session) => session.userId === userId);
  }

  /** @internal Creates the session of a new connection. */
  open(now: number): RealtimeSession {
    const session = new RealtimeSession(randomUUID(), now);
    this.sessions.set(session.id, session);
    return session;
  }

  /** @internal Binds a connection to its session. */
  attach(session: RealtimeSession, connection: RealtimeConnection): void {
    session.connection = connection;
    session.detachedAt = 0;
    if (connection.userId !== undefined) session.userId = connection.userId;
  }

  /** @internal The connection closed: the session waits `sessionTtl` to be resumed. */
  detach(connection: RealtimeConnection, now: number): void {
    const session = this.sessions.get(connection.sessionId);
    if (!session || session.connection !== connection) return;
    session.connection = undefined;
    session.detachedAt = now;
    if (this.options.sessionTtl === 0) this.sessions.delete(session.id);
    else if (session.userId !== undefined) this.share(session);
  }

  /** @internal The connection authenticated: the session now belongs to that user. */
  setUser(connection: RealtimeConnection): void {
    const session = this.sessions.get(connection.sessionId);
    if (!session) return;
    session.userId = connection.userId;
    if (session.userId !== undefined) this.share(session);
  }

  /**
   * Tells the cluster whose session this is, so that a `resume` on another node (even after this
   * one died) can refuse another user. Written at authentication and when the connection drops,
   * valid for `sessionTtl`.
   */
  private share(session: RealtimeSession): void {
    if (this.options.sessionTtl > 0) {
      this.cluster.saveSession(session.id, session.userId!, this.options.sessionTtl);
    }
  }

  /** Drops detached sessions older than `sessionTtl`; returns how many. */
  purgeExpired(now: number): number {
    let purged = 0;
    for (const session of this.sessions.values()) {
      if (session.detachedAt !== 0 && now - session.detachedAt >= this.options.sessionTtl) {
        this.sessions.delete(session.id);
        purged++;
      }
    }
    return purged;
  }

  /** Removes a session at once (its connection, if any, is not closed). */
  destroy(sessionId: string): boolean {
    return this.sessions.delete(sessionId);
  }

  /**
   * Closes every connection of `userId` on this node with 4003 ("do not reconnect
   * automatically") and forgets its sessions, so they cannot be resumed. `reason` is the close
   * frame's reason, cut to 123 UTF-8 bytes. Returns the number of connections closed.
   */
  disconnectUser(userId: string, reason = 'disconnected by the server'): number {
    const closed = this.disconnectUserLocally(userId, reason);
    this.cluster.publishDisconnect(userId, reason);
    return closed;
  }

  /** @internal A kick from another node: this node's part of `disconnectUser`. */
  disconnectUserLocally(userId: string, reason: string): number {
    const closing = this.connections.getByUser(userId);
    for (const connection of closing) {
      this.stats.countServerClose(CloseCode.KICKED);
      connection.close(CloseCode.KICKED, fitCloseReason(reason));
    }
    for (const session of this.byUser(userId)) this.sessions.delete(session.id);
    return closing.length;
  }
}

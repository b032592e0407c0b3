import { Injectable, Optional } from '@nestjs/common';
import { RealtimeStats, type ServerStats } from '../stats/realtime-stats.js';
import type { RealtimeConnection } from './realtime-connection.js';

const NO_CONNECTIONS: readonly RealtimeConnection[] = Object.freeze([]);
const NO_STATS: ServerStats = Object.freeze({
  active_connections: 0,
  total_connections: 0,
  messages_received: 0,
  messages_sent: 0,
  bytes_received: 0,
  errors: 0,
  active_rooms: 0,
});

/**
 * The registry of this node's live connections: lookup by connection id and by user id (a user
 * may have several connections: tabs, devices), counts and iteration. Injectable anywhere.
 *
 * Entries are added when a socket opens and removed when it closes, whatever the reason; a test
 * can enumerate {@link connections} and {@link userIds} to prove nothing leaked.
 */
@Injectable()
export class ConnectionManager {
  private readonly byId = new Map<string, RealtimeConnection>();
  /**
   * User id → its connection, or a Set of them once there are several: most users have one
   * connection per node, and a Set each would cost more than the rest of their state.
   */
  private readonly byUser = new Map<string, RealtimeConnection | Set<RealtimeConnection>>();

  constructor(@Optional() private readonly statistics?: RealtimeStats) {}

  /** A snapshot of this node's totals (the original design's `ServerStats`). */
  stats(): ServerStats {
    return this.statistics?.snapshot() ?? { ...NO_STATS };
  }

  /** Live connections on this node. */
  get count(): number {
    return this.byId.size;
  }

  /** Distinct authenticated users with at least one connection on this node. */
  get userCount(): number {
    return this.byUser.size;
  }

  get(connectionId: string): RealtimeConnection | undefined {
    return this.byId.get(connectionId);
  }

  has(connectionId: string): boolean {
    return this.byId.has(connectionId);
  }

  /** Every live connection of `userId` on this node (empty when none). */
  getByUser(userId: string): readonly RealtimeConnection[] {
    const entry = this.byUser.get(userId);
    if (entry === undefined) return NO_CONNECTIONS;
    return entry instanceof Set ? [...entry] : [entry];
  }

  /** Number of live connections of `userId` on this node. */
  countByUser(userId: string): number {
    const entry = this.byUser.get(userId);
    if (entry === undefined) return 0;
    return entry instanceof Set ? entry.size : 1;
  }

  /** Iterates over live connections (do not add or remove connections while iterating). */
  connections(): IterableIterator<RealtimeConnection> {
    return this.byId.values();
  }

  /** Ids of users with live connections on this node. */
  userIds(): IterableIterator<string> {
    return this.byUser.keys();
  }

  /** @internal Called by the server when a socket opens. */
  add(connection: RealtimeConnection): void {
    this.byId.set(connection.id, connection);
    if (connection.userId !== undefined) this.indexUser(connection, connection.userId);
  }

  /** @internal Called by the server when a socket closes. Idempotent. */
  remove(connection: RealtimeConnection): boolean {
    if (this.byId.get(connection.id) !== connection) return false;
    this.byId.delete(connection.id);
    if (connection.userId !== undefined) this.unindexUser(connection, connection.userId);
    return true;
  }

  /**
   * Binds a connection to a user (on authentication), or moves it to another user (re-auth as
   * someone else), or unbinds it (`undefined`).
   */
  setUser(connection: RealtimeConnection, userId: string | undefined): void {
    const previous = connection.userId;
    if (previous === userId) return;
    const registered = this.byId.get(connection.id) === connection;
    if (registered && previous !== undefined) this.unindexUser(connection, previous);
    connection.userId = userId;
    if (registered && userId !== undefined) this.indexUser(connection, userId);
  }

  /**
   * Told when a user gets its first connection on this node, and when it loses its last (the
   * cluster adapter listens, to route that user's messages here).
   */
  onUserPresence: ((userId: string, present: boolean) => void) | undefined = undefined;

  private indexUser(connection: RealtimeConnection, userId: string): void {
    const entry = this.byUser.get(userId);
    if (entry === undefined) {
      this.byUser.set(userId, connection);
      this.onUserPresence?.(userId, true);
    } else if (entry instanceof Set) entry.add(connection);
    else if (entry !== connection) this.byUser.set(userId, new Set([entry, connection]));
  }

  private unindexUser(connection: RealtimeConnection, userId: string): void {
    const entry = this.byUser.get(userId);
    if (entry === connection) {
      this.byUser.delete(userId);
      this.onUserPresence?.(userId, false);
    } else if (entry instanceof Set) {
      entry.delete(connection);
      if (entry.size === 1) this.byUser.set(userId, entry.values().next().value!);
    }
  }
}

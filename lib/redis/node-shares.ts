/** This node's share of a room's presence: its connections of one user in one room. */
export interface PresenceShare {
  roomId: string;
  userId: string;
  username: string;
  count: number;
}

const SEPARATOR = '\u0000';

/**
 * What this node contributes to the cluster's counters — its connections per room, and per room
 * and user its share of the presence — kept in memory as well as in Redis, from the same deltas.
 * Redis can lose them (a restart without persistence, a FLUSHALL, or a purge by the other nodes
 * during an outage longer than `nodeTimeout`); the node then writes them back when Redis returns,
 * as it does with its users. Without this, the leaves that follow drove the counters below zero:
 * hashes without a TTL left for ever, wrong cluster room counts, and users present in a room
 * missing from its presence.
 */
export class NodeShares {
  private readonly rooms = new Map<string, number>();
  private readonly presence = new Map<string, PresenceShare>();

  /** The presence field of a share, as in the node's presence hash. */
  static field(roomId: string, userId: string): string {
    return `${roomId}${SEPARATOR}${userId}`;
  }

  static parseField(field: string): { roomId: string; userId: string } {
    const at = field.indexOf(SEPARATOR);
    return { roomId: field.slice(0, at), userId: field.slice(at + 1) };
  }

  roomChanged(roomId: string, delta: number): void {
    const count = (this.rooms.get(roomId) ?? 0) + delta;
    if (count > 0) this.rooms.set(roomId, count);
    else this.rooms.delete(roomId);
  }

  presenceChanged(roomId: string, userId: string, username: string, delta: number): void {
    const field = NodeShares.field(roomId, userId);
    const share = this.presence.get(field);
    const count = (share?.count ?? 0) + delta;
    if (count <= 0) this.presence.delete(field);
    else if (share) {
      share.count = count;
      share.username = username;
    } else this.presence.set(field, { roomId, userId, username, count });
  }

  /** Connections per room, as the node's room hash should hold them. */
  roomCounts(): Record<string, string> {
    const counts: Record<string, string> = {};
    for (const [roomId, count] of this.rooms) counts[roomId] = String(count);
    return counts;
  }

  presenceShare(field: string): PresenceShare | undefined {
    return this.presence.get(field);
  }

  presenceFields(): string[] {
    return [...this.presence.keys()];
  }

  clear(): void {
    this.rooms.clear();
    this.presence.clear();
  }
}

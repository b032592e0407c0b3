/**
 * What this node contributes to the cluster's room counts — its connections per room — kept in
 * memory as well as in Redis, from the same deltas. Redis can lose them (a restart without
 * persistence, a FLUSHALL, or a purge by the other nodes during an outage longer than
 * `nodeTimeout`); the node then writes them back when Redis returns, as it does with its users
 * and its presence. Without this, the leaves that follow drove the counters below zero: hashes
 * without a TTL left for ever, and wrong cluster room counts.
 */
export class NodeShares {
  private readonly rooms = new Map<string, number>();

  roomChanged(roomId: string, delta: number): void {
    const count = (this.rooms.get(roomId) ?? 0) + delta;
    if (count > 0) this.rooms.set(roomId, count);
    else this.rooms.delete(roomId);
  }

  /** Connections per room, as the node's room hash should hold them. */
  roomCounts(): Record<string, string> {
    const counts: Record<string, string> = {};
    for (const [roomId, count] of this.rooms) counts[roomId] = String(count);
    return counts;
  }

  clear(): void {
    this.rooms.clear();
  }
}

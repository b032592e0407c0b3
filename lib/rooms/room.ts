import type { RealtimeConnection } from '../connections/realtime-connection.js';
import type { ReplayGate } from '../history/replay-gate.js';
import type { ResolvedRoomSettings } from '../options/room-settings.js';

/**
 * A room on this node: its members and metadata (who is present, per user, is the
 * PresenceTracker's). Its broadcast sequence lives in the RoomSequencer
 * (one node) or the cluster; the room remembers the position it has delivered up to.
 */
export class Room {
  readonly members = new Set<RealtimeConnection>();
  metadata: Record<string, unknown> = {};
  /** Position of the last sequenced frame delivered here (`seq` -1: none since the room appeared). */
  seq = -1;
  epoch = '';
  /** Members between their join or resume and the end of its replay (see ReplayGate). */
  gates: Map<RealtimeConnection, ReplayGate> | undefined = undefined;
  /** Presence: start (ms) of the interval whose budget of at-once diffs is being spent, and what was spent. */
  presenceSince = 0;
  presenceSpent = 0;

  constructor(
    readonly id: string,
    readonly settings: ResolvedRoomSettings,
  ) {}

  get size(): number {
    return this.members.size;
  }

  add(connection: RealtimeConnection): void {
    this.members.add(connection);
  }

  /** Removes a member (and its replay gate); false when it was not one. */
  remove(connection: RealtimeConnection): boolean {
    if (!this.members.delete(connection)) return false;
    if (this.gates?.delete(connection) && this.gates.size === 0) this.gates = undefined;
    return true;
  }
}

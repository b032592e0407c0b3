import type { OutboundFrame } from '../broadcast/outbound-frame.js';
import type { Sequenced } from '../cluster/cluster.adapter.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import type { HistorySettings } from './history-settings.js';
import type { ReplayGate } from './replay-gate.js';

/*
 * What history needs of this node's rooms. History sits below rooms/ (rooms number, record and
 * gate their frames through it), so it does not import rooms/: it declares these two small
 * abstract classes, which serve as Nest tokens, and realtime.providers.ts binds them to the rooms
 * layer's providers (`useExisting`).
 */

/** The rooms' members held behind a ReplayGate, as the replay and the join see them. */
export abstract class GatedMembers {
  /** Whether `gate` still holds the connection's frames of the room (it has not left meanwhile). */
  abstract isGated(connection: RealtimeConnection, roomId: string, gate: ReplayGate): boolean;
  /** The position the room has delivered on this node, if it has delivered a sequenced frame here. */
  abstract deliveredPosition(roomId: string): Sequenced | undefined;
  /** The room's members on this node. */
  abstract clientCount(roomId: string): number;
  /** The settings of a room, live or not. */
  abstract settingsOf(roomId: string): HistorySettings;
  /** Writes one replayed frame to a gated member; false once the connection is no longer open. */
  abstract writeReplayed(connection: RealtimeConnection, roomId: string, frame: OutboundFrame): boolean;
  /**
   * Writes replayed frames to a gated member, then opens its gate at `position`: the live frames
   * held meanwhile that come after it follow.
   */
  abstract openGate(
    connection: RealtimeConnection,
    roomId: string,
    gate: ReplayGate,
    position: Sequenced | undefined,
    replayed: readonly OutboundFrame[],
  ): void;
}

/** The join a `resume` starts with: membership stays the rooms layer's. */
export abstract class ResumableRooms {
  /**
   * Joins a room (policy and guards re-checked) behind a gate that holds the room's live frames
   * for the connection until its replay is done. Resolves with the gate, `'member'` when the
   * connection is in the room already, `undefined` when it closed; throws `FORBIDDEN` when the
   * join is refused.
   */
  abstract resumeRoom(connection: RealtimeConnection, roomId: string): Promise<ReplayGate | 'member' | undefined>;
}

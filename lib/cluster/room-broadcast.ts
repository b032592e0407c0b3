import type { SlowConsumerPolicy } from '../options/room-settings.js';
import type { RoomFrameParts, Sequenced } from './room-frame-parts.js';

/** A room broadcast as the rooms layer hands it to the cluster (see `ClusterAdapter.broadcastRoom`). */
export interface RoomBroadcast {
  /** The frame, serialized around its `seq` and `epoch` (`roomFrameParts`). */
  parts: RoomFrameParts;
  type: string;
  /** A connection id that does not get the frame, e.g. its sender. */
  except: string | undefined;
  /** What the cluster keeps of the room's broadcasts for replay. */
  history: HistoryLimits;
  /** This node's delivery only, when it numbers the frame itself: see RoomFrame. */
  slowConsumer?: SlowConsumerPolicy;
  conflationKey?: string;
  /**
   * The publishing span's trace context, asked for only when the frame crosses the cluster (a
   * frame this node numbers alone is delivered under the publishing span itself).
   */
  trace?: () => string | undefined;
}

/** Where a room broadcast went: its place in the room's sequence, and what this node wrote. */
export interface BroadcastSequenced extends Sequenced {
  /**
   * Connections of this node the frame was written to when this node numbered and delivered it
   * itself; `undefined` when it goes through the cluster's stream (delivered here as it comes
   * back, not counted by the publisher).
   */
  delivered: number | undefined;
}

/** How much of a room's broadcasts the cluster keeps for replay (the room's settings). */
export interface HistoryLimits {
  /** Entries kept (0: none). */
  size: number;
  /** Milliseconds an entry stays replayable. */
  ttl: number;
  /** Bytes of frames kept (the oldest go first). */
  maxBytes: number;
}

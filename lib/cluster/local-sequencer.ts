import type { OutboundFrame } from '../broadcast/outbound-frame.js';
import type { RoomFrameParts, Sequenced } from './room-frame-parts.js';

/** A room frame numbered on this node, and the frame itself when someone here needs its bytes. */
export interface LocalFrame extends Sequenced {
  /**
   * The frame's text, or `undefined` when the room has no member on this node and keeps none of
   * its broadcasts for replay: then it was numbered (`seq` stays gap-free) but not serialized.
   */
  text: string | undefined;
  /** The same frame, framed once for the wire (what the members get and the history keeps). */
  prepared: OutboundFrame | undefined;
}

/**
 * How a room's frames are numbered and kept on this node alone: the port the cluster layer
 * sequences through when no shared backend does (the in-memory adapter always; a Redis node
 * while Redis is unreachable, under an epoch of its own). It is what the Redis publish script is
 * to the Redis adapter — number, append to the history, hand back the frame — for one process.
 *
 * history/ implements it (RoomHistoryService, which owns the sequencer and knows whether anyone
 * may still ask for a room's history); cluster/ sits below history/ and does not import it. The
 * rooms layer hands it to the adapter with `ClusterAdapter.attach`.
 */
export interface LocalSequencer {
  /**
   * Numbers the room's next frame under this node's epoch, builds it from `parts`, and keeps it
   * for replay where someone may ask for it.
   */
  sequence(roomId: string, parts: RoomFrameParts, now: number): LocalFrame;
  /** The room's position on this node (seq 0 under a fresh epoch if it has none yet). */
  current(roomId: string, now: number): Sequenced;
}

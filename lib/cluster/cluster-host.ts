import type { OutboundFrame } from '../broadcast/outbound-frame.js';
import type { SlowConsumerPolicy } from '../options/room-settings.js';

/**
 * The per-node cluster counters (`websocket_cluster_published_total`, `…_received_total`). The
 * adapter base bumps them where a publication leaves for the cluster or one from the cluster is
 * delivered, so a node without a shared backend (the in-memory adapter) counts none.
 */
export interface ClusterCounters {
  clusterPublished: number;
  clusterReceived: number;
}

/** Where a cluster adapter hands what other nodes published: local delivery on this node. */
export interface ClusterHost {
  readonly nodeId: string;
  /** Where the adapter counts what it publishes and delivers (the node's stats). */
  readonly counters: ClusterCounters;
  /**
   * A room frame (serialized, with its `seq` and `epoch`), for this node's members of the room:
   * what the cluster delivers, and what a node alone numbered itself. Returns how many
   * connections of this node it was written to.
   */
  deliverRoom(roomId: string, frame: RoomFrame): number;
  /** A frame for this node's connections of a user. */
  deliverUser(userId: string, frame: string): void;
  /** A frame for every connection of this node. */
  deliverAll(frame: string): void;
  /** Close this node's connections of a user with 4003. */
  disconnectUser(userId: string, reason: string): void;
  /** A `presence_diff` frame for this node's members of the room (except one connection). */
  deliverPresence(roomId: string, frame: string, exceptConnectionId: string | undefined): void;
}

/**
 * A room frame for this node's members, checked, with its place in the room's sequence. One
 * object from the adapter to the members' sockets: the ordering that produces it already holds
 * it, so passing it along costs nothing.
 */
export interface RoomFrame {
  /** The frame as serialized by its publisher. */
  frame: string;
  /** Its message type (the conflation key of the `conflate` policy). */
  type: string;
  /** A connection id that does not get the frame, e.g. its sender. */
  except: string | undefined;
  seq: number;
  epoch: string;
  /** The publishing span's trace context (JSON, unchecked), when the publisher traced it. */
  trace?: string;
  // A frame numbered on this node alone (LocalSequencer) also carries what only its publisher knew.
  /** The frame already framed for the wire (and kept in the history): not framed again. */
  prepared?: OutboundFrame;
  /** The broadcast's slow-consumer policy, instead of the room's. */
  slowConsumer?: SlowConsumerPolicy;
  /** The broadcast's conflation key, instead of its type. */
  conflationKey?: string;
}

import type { ClusterHost } from './cluster-host.js';
import type { LocalSequencer } from './local-sequencer.js';
import type { BroadcastSequenced, RoomBroadcast } from './room-broadcast.js';
import type { Sequenced } from './room-frame-parts.js';

// A room frame numbered and delivered on this node alone: what the in-memory adapter does with
// every room broadcast, and what the ClusterAdapter base does with one its transport cannot take
// (a Redis node while Redis is unreachable, under an epoch of its own). Plain functions over the
// adapter's host and sequencer rather than an object of their own: this is every broadcast's path
// on one node, and it needs no state beyond what `attach` already gave the adapter.

/**
 * Numbers a room broadcast through this node's {@link LocalSequencer} (which keeps it for replay
 * where someone may ask for it) and writes it to this node's members at once, through
 * `host.deliverRoom` like a frame from the cluster, with what only its publisher knows: the frame
 * already framed, the broadcast's own slow-consumer policy and conflation key. Nothing crosses the
 * cluster, so nothing counts as published or received. A room nobody here gets and nobody may
 * resume takes its `seq` (gap-free) and is delivered to no one.
 *
 * @throws when `local` is missing: a publisher without connections (the emitter) has no
 * sequencer, and cannot deliver a room frame alone.
 */
export function deliverRoomLocally(
  host: ClusterHost,
  local: LocalSequencer | undefined,
  roomId: string,
  broadcast: RoomBroadcast,
): BroadcastSequenced {
  if (local === undefined) {
    throw new Error('ClusterAdapter: attached without a LocalSequencer, it cannot deliver a room frame alone');
  }
  const { seq, epoch, text, prepared } = local.sequence(roomId, broadcast.parts, Date.now());
  if (text === undefined) return { seq, epoch, delivered: 0 };
  const delivered = host.deliverRoom(roomId, {
    frame: text,
    type: broadcast.type,
    except: broadcast.except,
    seq,
    epoch,
    prepared,
    slowConsumer: broadcast.slowConsumer,
    conflationKey: broadcast.conflationKey,
  });
  return { seq, epoch, delivered };
}

/**
 * A room's position when this node numbers its frames alone, known at once without asking anyone
 * (a fresh room: seq 0 under a new epoch); `undefined` without a sequencer.
 */
export function localRoomPosition(local: LocalSequencer | undefined, roomId: string): Sequenced | undefined {
  if (local === undefined) return undefined;
  const { seq, epoch } = local.current(roomId, Date.now());
  return { seq, epoch };
}

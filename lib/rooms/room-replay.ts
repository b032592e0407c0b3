import { type OutboundFrame, prepareFrame } from '../broadcast/outbound-frame.js';
import type { ClusterAdapter, ClusterHistory, Sequenced } from '../cluster/cluster.adapter.js';
import type { RoomSequence, RoomSequencer } from './room-sequencer.js';
import type { ResolvedRoomSettings } from './room-settings.js';

/** Why a room could not be replayed from a client's position (`resume_failed.reason`). */
export type ReplayFailure =
  /** The room's history was lost since (or the position never existed): reload the room. */
  | 'epoch_changed'
  /** The history no longer reaches back to the position (size or ttl). */
  | 'history_expired'
  /** The cluster holding the history is unreachable. */
  | 'unavailable';

/** The frames a client missed in a room, or why they cannot be had. */
export type ReplayResult =
  | { ok: true; frames: OutboundFrame[]; position: Sequenced }
  | { ok: false; reason: ReplayFailure; position: Sequenced | undefined };

/**
 * Finds what a client missed in a room since its last `seq`/`epoch`: in this node's history when
 * the position is under this node's epoch (one node, or a cluster node during an outage), in the
 * cluster's otherwise. A replay is all or nothing: a history that does not reach back is a
 * `resume_failed`, never a replay with a hole in it.
 */
export class RoomReplay {
  constructor(
    private readonly sequencer: RoomSequencer,
    private readonly cluster: ClusterAdapter,
  ) {}

  async since(roomId: string, from: Sequenced, settings: ResolvedRoomSettings): Promise<ReplayResult> {
    const local = this.sequencer.peek(roomId);
    if (local !== undefined && local.epoch === from.epoch) return fromLocal(local, from, Date.now());
    if (this.cluster.status === 'off') {
      return { ok: false, reason: 'epoch_changed', position: this.sequencer.current(roomId, Date.now()) };
    }
    const history = await this.cluster.roomHistory(roomId, from.seq, settings.historyTtl);
    if (history === undefined) return { ok: false, reason: 'unavailable', position: undefined };
    return fromCluster(history, from, settings.historySize);
  }
}

function fromLocal(sequence: RoomSequence, from: Sequenced, now: number): ReplayResult {
  const position = { seq: sequence.seq, epoch: sequence.epoch };
  if (from.seq > sequence.seq) return { ok: false, reason: 'epoch_changed', position };
  if (from.seq === sequence.seq) return { ok: true, frames: [], position };
  const entries = sequence.history?.since(from.seq, sequence.seq, now);
  if (entries === undefined) return { ok: false, reason: 'history_expired', position };
  return { ok: true, frames: entries.map((entry) => entry.frame), position };
}

function fromCluster(history: ClusterHistory, from: Sequenced, size: number): ReplayResult {
  const position = { seq: history.seq, epoch: history.epoch };
  if (history.epoch !== from.epoch || from.seq > history.seq) return { ok: false, reason: 'epoch_changed', position };
  const missing = history.seq - from.seq;
  const entries = history.entries;
  // Redis trims streams only approximately (MAXLEN ~): what is past `historySize` does not count,
  // so that a client is told the same on every node and with one node.
  if (missing > size || entries.length !== missing) return { ok: false, reason: 'history_expired', position };
  const frames = new Array<OutboundFrame>(missing);
  for (let i = 0; i < missing; i++) {
    if (entries[i].seq !== from.seq + 1 + i) return { ok: false, reason: 'history_expired', position };
    frames[i] = prepareFrame(Buffer.from(entries[i].frame));
  }
  return { ok: true, frames, position };
}

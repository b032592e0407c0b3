import { type OutboundFrame, prepareFrame } from '../broadcast/outbound-frame.js';
import type { ClusterAdapter, ClusterHistory, Sequenced } from '../cluster/cluster.adapter.js';
import type { RoomSequence, RoomSequencer } from './room-sequencer.js';
import type { HistorySettings } from './history-settings.js';

/** Why a room could not be replayed from a client's position (`resume_failed.reason`). */
export type ReplayFailure =
  /** The room's history was lost since (or the position never existed): reload the room. */
  | 'epoch_changed'
  /** The history no longer reaches back to the position (size, bytes or ttl). */
  | 'history_expired'
  /** The cluster holding the history is unreachable. */
  | 'unavailable';

/**
 * How a replay ended: the position the client has now seen (replayed up to), or why the rest
 * cannot be had and the position to go on from. `sent` frames went out either way.
 */
export type ReplayResult =
  | { ok: true; position: Sequenced; sent: number }
  | { ok: false; reason: ReplayFailure; position: Sequenced | undefined; sent: number };

/** Where a replay writes: one connection, paced by its outbound buffer. */
export interface ReplaySink {
  /** Writes one replayed frame; false when the connection is gone (or left the room). */
  write(frame: OutboundFrame): boolean;
  /** Whether the connection's outbound buffer is high enough to wait before writing more. */
  readonly backlogged: boolean;
  /** Resolves once the buffer is low again: true to go on, false when the connection is gone. */
  drained(): Promise<boolean>;
}

/** The replay stopped because the connection went away: nothing more to tell it. */
export const REPLAY_ABANDONED = 'abandoned';

/**
 * Finds what a client missed in a room since its last `seq`/`epoch` and writes it to the
 * connection: from this node's history when the position is under this node's epoch (one node,
 * or a cluster node during an outage), from the cluster's otherwise.
 *
 * Nothing is gathered whole: frames are written as they are read and the next part waits until
 * the connection has taken the previous one (`sink.drained()`), and the cluster is read in
 * chunks of at most `chunkBytes`, so one `resume` of a big history neither stalls Redis with one
 * huge read nor makes this node hold copies of it. A history that does not reach back to the
 * position is a `resume_failed` before anything is sent; one that loses its tail during the
 * replay (evicted meanwhile) ends it with a `resume_failed` too — never a silent gap.
 */
export class RoomReplay {
  constructor(
    private readonly sequencer: RoomSequencer,
    private readonly cluster: ClusterAdapter,
    private readonly chunkBytes: number,
  ) {}

  async run(
    roomId: string,
    from: Sequenced,
    settings: HistorySettings,
    sink: ReplaySink,
  ): Promise<ReplayResult | typeof REPLAY_ABANDONED> {
    const local = this.sequencer.peek(roomId);
    if (local !== undefined && local.epoch === from.epoch) return fromLocal(local, from, Date.now(), sink);
    // Where this node alone numbers the room (one node), its own history was all there is: a
    // position under another epoch is one the room no longer has.
    const position = this.cluster.localPosition(roomId);
    if (position !== undefined) return { ok: false, reason: 'epoch_changed', position, sent: 0 };
    return this.fromCluster(roomId, from, settings, sink);
  }

  private async fromCluster(
    roomId: string,
    from: Sequenced,
    settings: HistorySettings,
    sink: ReplaySink,
  ): Promise<ReplayResult | typeof REPLAY_ABANDONED> {
    const ttl = settings.historyTtl;
    let history: ClusterHistory | undefined = await this.cluster.roomHistory(roomId, from.seq, ttl, {
      maxBytes: this.chunkBytes,
    });
    if (history === undefined) return { ok: false, reason: 'unavailable', position: undefined, sent: 0 };
    // The position read with the first chunk is where the replay ends; what comes after it is
    // live traffic, held by the connection's gate meanwhile.
    const position = { seq: history.seq, epoch: history.epoch };
    if (history.epoch !== from.epoch || from.seq > history.seq) {
      return { ok: false, reason: 'epoch_changed', position, sent: 0 };
    }
    // Redis may hold more than `historySize` (a room whose setting shrank): what is past it does
    // not count, so that a client is told the same on every node and with one node.
    if (position.seq - from.seq > settings.historySize) {
      return { ok: false, reason: 'history_expired', position, sent: 0 };
    }
    let seen = from.seq;
    let sent = 0;
    while (seen < position.seq) {
      const entries = history.entries;
      if (entries.length === 0 || entries[0].seq !== seen + 1) {
        return { ok: false, reason: 'history_expired', position, sent };
      }
      for (const entry of entries) {
        if (entry.seq > position.seq) break;
        if (entry.seq !== seen + 1) return { ok: false, reason: 'history_expired', position, sent };
        if (!sink.write(prepareFrame(Buffer.from(entry.frame)))) return REPLAY_ABANDONED;
        seen = entry.seq;
        sent++;
      }
      if (seen >= position.seq) break;
      if (sink.backlogged && !(await sink.drained())) return REPLAY_ABANDONED;
      history = await this.cluster.roomHistory(roomId, seen, ttl, { maxBytes: this.chunkBytes, toSeq: position.seq });
      if (history === undefined) return { ok: false, reason: 'unavailable', position, sent };
      if (history.epoch !== position.epoch) {
        return { ok: false, reason: 'epoch_changed', position: { seq: history.seq, epoch: history.epoch }, sent };
      }
    }
    return { ok: true, position, sent };
  }
}

async function fromLocal(
  sequence: RoomSequence,
  from: Sequenced,
  now: number,
  sink: ReplaySink,
): Promise<ReplayResult | typeof REPLAY_ABANDONED> {
  const position = { seq: sequence.seq, epoch: sequence.epoch };
  if (from.seq > sequence.seq) return { ok: false, reason: 'epoch_changed', position, sent: 0 };
  if (from.seq === sequence.seq) return { ok: true, position, sent: 0 };
  // Taken at once (references, not copies): entries evicted while the replay waits for the
  // reader stay alive until written.
  const entries = sequence.history?.since(from.seq, sequence.seq, now);
  if (entries === undefined) return { ok: false, reason: 'history_expired', position, sent: 0 };
  let sent = 0;
  for (const entry of entries) {
    if (!sink.write(entry.frame)) return REPLAY_ABANDONED;
    sent++;
    if (sink.backlogged && !(await sink.drained())) return REPLAY_ABANDONED;
  }
  return { ok: true, position, sent };
}

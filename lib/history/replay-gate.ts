import type { OutboundFrame } from '../broadcast/outbound-frame.js';

/** A room frame held by a gate; `seq` is -1 for frames outside the sequence (presence). */
export interface GatedFrame {
  seq: number;
  epoch: string;
  frame: OutboundFrame;
}

/**
 * The switch from replay to live for one connection in one room, without loss or duplicate.
 *
 * The connection is a member (so live frames reach this node for it) from before the history is
 * read. While the replay is prepared, the gate holds the room's live frames for it. `open()`
 * with the position the replay reached hands back the held frames that come after it, and from
 * then on the gate drops only live frames the replay already covered (a frame published before
 * the history read can still be on its way through the cluster). The first frame past the
 * position ends the gate's work; so does the room's own position reaching it (`passed`).
 */
export class ReplayGate {
  private held: GatedFrame[] | undefined = [];
  private seq = 0;
  private epoch = '';
  /** True once no live frame can duplicate the replay any more: the gate can be removed. */
  done = false;

  /** Whether the replay has been sent and the gate now only filters. */
  get isOpen(): boolean {
    return this.held === undefined;
  }

  /** A live frame for the gated connection: true when it is to be written now. */
  offer(seq: number, epoch: string, frame: OutboundFrame): boolean {
    if (this.held !== undefined) {
      this.held.push({ seq, epoch, frame });
      return false;
    }
    if (seq < 0) return true;
    if (epoch === this.epoch && seq <= this.seq) return false;
    this.done = true;
    return true;
  }

  /**
   * The replay reached `seq` of `epoch` (what the client has now seen): returns the held frames
   * to write after it, in arrival order, and starts filtering.
   */
  open(seq: number, epoch: string): GatedFrame[] {
    const held = this.held ?? [];
    this.held = undefined;
    this.seq = seq;
    this.epoch = epoch;
    const release: GatedFrame[] = [];
    for (const item of held) {
      if (item.seq >= 0 && item.epoch === epoch && item.seq <= seq) continue;
      // Live frames arrive in order: once one is past the replay, none behind it can follow.
      if (item.seq >= 0) this.done = true;
      release.push(item);
    }
    return release;
  }

  /** Whether a room that has delivered up to `seq` of `epoch` can no longer send a duplicate. */
  passed(seq: number, epoch: string): boolean {
    return this.held === undefined && epoch === this.epoch && seq >= this.seq;
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { type OutboundFrame, prepareFrame } from '../broadcast/outbound-frame.js';
import { ClusterAdapter, type LocalFrame, type LocalSequencer, type Sequenced } from '../cluster/cluster.adapter.js';
import { type RoomFrameParts, roomFrameText } from '../cluster/room-frame-parts.js';
import { closeSlowConsumer } from '../connections/close-slow-consumer.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { RealtimeStats } from '../stats/realtime-stats.js';
import { waitForDrain } from '../connections/wait-for-drain.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import type { RoomJoinedData } from '../protocol/server-frames.js';
import { GatedMembers } from './history-rooms.js';
import type { ReplayGate } from './replay-gate.js';
import { ReplayLimiter } from './replay-limiter.js';
import { REPLAY_ABANDONED, type ReplayResult, type ReplaySink, RoomReplay } from './room-replay.js';
import { RoomSequencer } from './room-sequencer.js';

/**
 * Room history on this node, behind one service: the sequencer (local `seq`/`epoch` and the
 * frames kept for replay), replays within the node's limit, and the switch of a gated member
 * from replay to live. The cluster adapter numbers and records the frames this node delivers
 * alone here (it is the adapter's {@link LocalSequencer}); the rooms layer opens joins through
 * it; the `resume` handling replays through it.
 */
@Injectable()
export class RoomHistoryService implements LocalSequencer {
  /** Sequences outlive membership for as long as a session may come back to ask for them. */
  readonly sequencer: RoomSequencer;
  /** Replays running at once on this node (`history.maxConcurrentReplays`). */
  readonly replays: ReplayLimiter;
  private readonly replay: RoomReplay;

  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly cluster: ClusterAdapter,
    private readonly stats: RealtimeStats,
    private readonly members: GatedMembers,
  ) {
    this.sequencer = new RoomSequencer(Math.max(options.sessionTtl, 60_000), options.history.maxBytes, stats);
    this.replay = new RoomReplay(this.sequencer, cluster, options.history.replayChunkBytes);
    this.replays = new ReplayLimiter(options.history.maxConcurrentReplays);
  }

  /**
   * Numbers a room frame on this node and keeps it for replay if someone may ask for it: the
   * room has members here, had some within the idle ttl, or keeps history without members.
   */
  sequence(roomId: string, parts: RoomFrameParts, now: number): LocalFrame {
    const settings = this.members.settingsOf(roomId);
    const live = this.members.clientCount(roomId) > 0;
    // Decided before numbering: whether the room had members is what counts, not this broadcast.
    const keep = this.sequencer.keepsHistory(roomId, settings, live, now);
    const sequence = this.sequencer.next(roomId, now);
    const { seq, epoch } = sequence;
    // A room nobody is in and nobody can resume: numbered (seq stays gap-free), not serialized.
    if (!live && !keep) return { seq, epoch, text: undefined, prepared: undefined };
    const text = roomFrameText(parts, seq, epoch);
    const prepared = prepareFrame(Buffer.from(text));
    if (keep) this.sequencer.record(sequence, prepared, settings);
    return { seq, epoch, text, prepared };
  }

  /** The room's position on this node (seq 0 under a fresh epoch if it has none yet). */
  current(roomId: string, now: number): Sequenced {
    return this.sequencer.current(roomId, now);
  }

  /** Forgets idle sequences of rooms that are not live (`isLive`); returns how many. */
  purgeIdle(now: number, isLive: (roomId: string) => boolean): number {
    return this.sequencer.purge(now, isLive);
  }

  /**
   * The room's position as this node has delivered it, when that is known without asking the
   * cluster: always where this node alone numbers the room (one node: the adapter's local
   * position), and in a cluster once the room has delivered a frame here (a new member gets
   * everything after it, in order).
   */
  knownPosition(roomId: string): Sequenced | undefined {
    return this.cluster.localPosition(roomId) ?? this.members.deliveredPosition(roomId);
  }

  /** A room's current position: as delivered here, else the cluster's, else this node's sequencer's. */
  async position(roomId: string): Promise<Sequenced> {
    return (
      this.knownPosition(roomId) ??
      (await this.cluster.roomPosition(roomId)) ??
      this.sequencer.current(roomId, Date.now())
    );
  }

  /** Whether `gate` still holds the connection's frames of the room (it has not left meanwhile). */
  isGated(connection: RealtimeConnection, roomId: string, gate: ReplayGate): boolean {
    return this.members.isGated(connection, roomId, gate);
  }

  /**
   * For a member added behind `gate` with nothing to replay: sends `room_joined` with the room's
   * current position, then opens the gate there. False when it left meanwhile (nothing sent).
   */
  async openAtCurrentPosition(
    connection: RealtimeConnection,
    roomId: string,
    gate: ReplayGate,
    requestId?: string | number,
  ): Promise<boolean> {
    const position = await this.position(roomId);
    if (!this.isGated(connection, roomId, gate)) return false;
    connection.send({
      type: 'room_joined',
      id: requestId,
      data: {
        room_id: roomId,
        client_count: this.members.clientCount(roomId),
        seq: position.seq,
        epoch: position.epoch,
      } satisfies RoomJoinedData,
    });
    this.releaseGate(connection, roomId, gate, position);
    return true;
  }

  /**
   * Writes what a gated member missed in the room since `from`, paced by its outbound buffer,
   * within a slot of the node's replay limit. Resolves with how it ended (the caller then opens
   * the gate at the position), or `undefined` when the connection closed or left the room.
   */
  async replayRoom(
    connection: RealtimeConnection,
    roomId: string,
    gate: ReplayGate,
    from: Sequenced,
  ): Promise<ReplayResult | undefined> {
    const release = await this.replays.acquire();
    try {
      if (!this.isGated(connection, roomId, gate)) return undefined;
      const settings = this.members.settingsOf(roomId);
      const result = await this.replay
        .run(roomId, from, settings, this.replaySink(connection, roomId, gate))
        .catch((): ReplayResult => ({ ok: false, reason: 'unavailable', position: undefined, sent: 0 }));
      if (result === REPLAY_ABANDONED || !this.isGated(connection, roomId, gate)) return undefined;
      return result;
    } finally {
      release();
    }
  }

  /**
   * Writes replayed frames to a gated member, then opens its gate at `position` (what the
   * connection has now seen): the live frames held meanwhile that come after it follow.
   */
  releaseGate(
    connection: RealtimeConnection,
    roomId: string,
    gate: ReplayGate,
    position: Sequenced | undefined,
    replayed: readonly OutboundFrame[] = [],
  ): void {
    if (this.isGated(connection, roomId, gate)) this.members.openGate(connection, roomId, gate, position, replayed);
  }

  /**
   * Writes a replay to a gated member. Past half of `writeBufferSize` the replay waits for the
   * reader (up to `writeTimeout`, after which it is a slow consumer: 1013), so a replay never
   * takes more than about one chunk of memory per connection.
   */
  private replaySink(connection: RealtimeConnection, roomId: string, gate: ReplayGate): ReplaySink {
    const below = Math.floor(this.options.writeBufferSize / 2);
    const timeout = this.options.writeTimeout > 0 ? this.options.writeTimeout : 30_000;
    return {
      write: (frame) => this.isGated(connection, roomId, gate) && this.members.writeReplayed(connection, roomId, frame),
      get backlogged() {
        return connection.socket.bufferedAmount > below;
      },
      drained: async () => {
        const result = await waitForDrain(connection, below, timeout);
        if (result === 'timeout') closeSlowConsumer(connection, this.stats);
        return result === 'drained' && this.isGated(connection, roomId, gate);
      },
    };
  }
}

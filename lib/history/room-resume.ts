import { Inject, Injectable, Logger } from '@nestjs/common';
import { ClusterAdapter, type Sequenced } from '../cluster/cluster.adapter.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { RealtimeStats } from '../stats/realtime-stats.js';
import { RealtimeException, RealtimeForbiddenException } from '../errors/realtime.exception.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { SessionManager } from '../sessions/session.manager.js';
import type { ResumedData, ResumeFailedData, RoomLeftData } from '../protocol/server-frames.js';
import { ResumableRooms } from './history-rooms.js';
import type { ReplayGate } from './replay-gate.js';
import { RoomHistoryService } from './room-history.service.js';

/** A validated `resume { session_id, rooms: { room_id: { seq, epoch } } }`. */
export interface ResumeRequest {
  sessionId: string;
  rooms: Map<string, Sequenced>;
}

interface ResumingRoom {
  roomId: string;
  gate: ReplayGate;
  /** The client's position, or undefined for a room of the session it named no position for. */
  from: Sequenced | undefined;
  released: boolean;
}

/**
 * `resume { session_id, rooms: { room_id: { seq, epoch } } }` after a reconnect, to this node or
 * any other: the rooms are joined again (policy and guards re-checked), `resumed` names them,
 * then each room's missed frames follow in `seq` order and live traffic after them, with no gap
 * and no duplicate in the switch. A room that cannot be replayed gets `resume_failed` (it is
 * still joined). A session id is no credential: a session known to belong to another user is
 * refused; the rooms are whatever the user may join anyway.
 *
 * Bounds: one `resume` names at most `resume.maxRooms` rooms (`BAD_REQUEST` otherwise; the
 * session's other rooms are added only up to that count); a connection's messages are handled one
 * at a time, so it has one `resume` under way at most, and its rooms are replayed one after the
 * other, each within a slot of the node's `history.maxConcurrentReplays`.
 */
@Injectable()
export class RoomResume {
  private readonly logger = new Logger('RealtimeResume');

  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly rooms: ResumableRooms,
    private readonly history: RoomHistoryService,
    private readonly sessions: SessionManager,
    private readonly cluster: ClusterAdapter,
    private readonly stats: RealtimeStats,
  ) {}

  /** Resumes a session's rooms on `connection`; `requestId` is repeated in every answer. */
  async resume(
    connection: RealtimeConnection,
    request: ResumeRequest,
    requestId: string | number | undefined,
  ): Promise<void> {
    const maxRooms = this.options.resume.maxRooms;
    const previous = this.sessions.get(request.sessionId);
    const owner = previous?.userId ?? (await this.ownerInCluster(request.sessionId));
    if (owner !== undefined && owner !== connection.userId) {
      throw new RealtimeForbiddenException('the session belongs to another user');
    }
    // The rooms the client names, with its positions, and those this node still knows of the
    // session (joined back from the current position).
    const targets = new Map<string, { seq: number; epoch: string } | undefined>(request.rooms);
    if (previous !== undefined && previous.id !== connection.sessionId) {
      for (const roomId of previous.rooms) {
        if (targets.size >= maxRooms) break;
        if (!targets.has(roomId)) targets.set(roomId, undefined);
      }
    }
    const restored: string[] = [];
    const resuming: ResumingRoom[] = [];
    try {
      for (const [roomId, from] of targets) {
        try {
          const started = await this.rooms.resumeRoom(connection, roomId);
          if (started === 'member') this.stats.countResumedRoom('already_member');
          else if (started) resuming.push({ roomId, gate: started, from, released: false });
          if (started) restored.push(roomId);
        } catch (error) {
          // The room is not joined: a refusal (policy, guard) or a failure of the app's own code.
          const refused = error instanceof RealtimeException;
          if (!refused) this.logger.error(`resume of room ${roomId} failed: ${(error as Error)?.stack ?? error}`);
          this.stats.countResumedRoom(refused ? 'forbidden' : 'error');
          connection.send({
            type: 'room_left',
            id: requestId,
            data: { room_id: roomId, reason: refused ? 'forbidden' : 'error' } satisfies RoomLeftData,
          });
        }
      }
      if (!connection.isOpen) return;
      connection.send({ type: 'resumed', id: requestId, data: { rooms: restored } satisfies ResumedData });
      for (const room of resuming) {
        await this.finish(connection, room, requestId);
        room.released = true;
      }
    } finally {
      // Whatever failed on the way, no room stays held back behind its gate.
      for (const room of resuming) {
        if (!room.released) this.history.releaseGate(connection, room.roomId, room.gate, undefined);
      }
    }
  }

  /**
   * Whose session this is, as the cluster knows it (for a session not on this node).
   * `undefined` — nobody known, or a cluster that is down (the node works alone) — lets the
   * resume go on: for a session this node does not hold, a resume gives only what a resume of
   * the user's own session gives (the rooms it names, through the join policy, replayed from
   * positions it names), so refusing every cross-node resume during an outage would cost every
   * client its replay and protect nothing more. A cluster that is up but could not be asked is
   * no "nobody": the resume is refused with `INTERNAL`, and the client joins its rooms again
   * (PROTOCOL.md, "resume"); an existing code, so the protocol's error table is unchanged.
   */
  private async ownerInCluster(sessionId: string): Promise<string | undefined> {
    try {
      return await this.cluster.sessionOwner(sessionId);
    } catch (error) {
      this.logger.warn(
        `resume refused: whose session ${sessionId} is could not be checked: ${(error as Error)?.message}`,
      );
      throw new RealtimeException(ErrorCode.INTERNAL, 'the session could not be checked now: join the rooms again');
    }
  }

  /** Sends what one room missed (or why it cannot) and opens its gate. */
  private async finish(
    connection: RealtimeConnection,
    { roomId, gate, from }: ResumingRoom,
    requestId: string | number | undefined,
  ): Promise<void> {
    // Left meanwhile (a leave_room sent right after `resumed`): nothing more to say about it.
    if (!this.history.isGated(connection, roomId, gate)) return;
    if (from === undefined) {
      if (await this.history.openAtCurrentPosition(connection, roomId, gate, requestId)) {
        this.stats.countResumedRoom('rejoined');
      }
      return;
    }
    const result = await this.history.replayRoom(connection, roomId, gate, from);
    // Closed, or left the room, during the replay.
    if (result === undefined) return;
    this.stats.replayedFrames += result.sent;
    if (result.ok) {
      this.history.releaseGate(connection, roomId, gate, result.position);
      this.stats.countResumedRoom('replayed');
    } else {
      this.stats.countResumedRoom(result.reason);
      // Sent only to the sender because of its `resume`: it carries the request id (PROTOCOL.md).
      connection.send({
        type: 'resume_failed',
        id: requestId,
        data: {
          room_id: roomId,
          reason: result.reason,
          seq: result.position?.seq,
          epoch: result.position?.epoch,
        } satisfies ResumeFailedData,
      });
      this.history.releaseGate(connection, roomId, gate, result.position);
    }
  }
}

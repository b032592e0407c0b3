import type { Envelope } from '../protocol/envelope.js';
import { RealtimeRequestError } from './client-errors.js';
import type { ResumeFailedData, ResumeRequestData } from './message-map.js';
import type { RoomPositions } from './room-positions.js';

/**
 * Brings a new connection back into the client's rooms: `resume` from the last positions when
 * the server can (it replays what was missed), else `join_room` again — for a server without
 * `resume` (`UNKNOWN_TYPE`), a session that is not this user's (`FORBIDDEN`) or that the server
 * could not check (`INTERNAL`, a cluster whose lookup failed), any other refusal, or a room whose
 * position was never known — and a `resume_failed` event, so the app reloads that room.
 * Replayed frames, `resume_failed` and `room_left` frames of the server are handled as they
 * arrive, like any frame.
 */
export class RoomRestorer {
  constructor(
    private readonly rooms: RoomPositions,
    /** A request on the new connection, ahead of the offline queue. */
    private readonly request: (type: string, data: unknown) => Promise<Envelope>,
    private readonly resumeFailed: (event: ResumeFailedData) => void,
    private readonly reportError: (error: Error) => void,
  ) {}

  /** Restores every room; rejects (and the connection is retried) if the connection fails meanwhile. */
  async restore(previousSession: string | undefined): Promise<void> {
    if (this.rooms.size === 0) return;
    const positions = this.rooms.resumable();
    const resumable = Object.keys(positions);
    // Started before the resume; awaited (settled) whatever the resume does, so that none of
    // them rejects unhandled when the resume throws.
    const rejoins = this.rooms.unpositioned().map((room) => this.rejoin(room, 'position_unknown'));
    let results: PromiseSettledResult<void>[];
    try {
      if (resumable.length > 0 && previousSession !== undefined) {
        const resume: ResumeRequestData = { session_id: previousSession, rooms: positions };
        try {
          await this.request('resume', resume);
        } catch (error) {
          if (!(error instanceof RealtimeRequestError)) throw error;
          const reason = error.code === 'UNKNOWN_TYPE' ? 'resume_unsupported' : 'resume_refused';
          for (const room of resumable) rejoins.push(this.rejoin(room, reason));
        }
      } else {
        for (const room of resumable) rejoins.push(this.rejoin(room, 'no_session'));
      }
    } finally {
      results = await Promise.allSettled(rejoins);
    }
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async rejoin(roomId: string, reason: string): Promise<void> {
    try {
      // Its room_joined sets the room's new position as it arrives.
      await this.request('join_room', { room_id: roomId });
    } catch (error) {
      if (!(error instanceof RealtimeRequestError)) throw error;
      // Refused now (the policy changed, or another identity): no longer in the room, so
      // nothing to reload — no resume_failed for it.
      this.rooms.delete(roomId);
      this.reportError(error);
      return;
    }
    if (!this.rooms.has(roomId)) return; // left meanwhile
    const position = this.rooms.position(roomId);
    this.resumeFailed({ room_id: roomId, reason, seq: position?.seq, epoch: position?.epoch });
  }
}

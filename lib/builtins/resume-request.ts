import type { Sequenced } from '../cluster/cluster.adapter.js';
import type { ResumeRequest } from '../history/room-resume.js';
import { RealtimeBadRequestException } from '../errors/realtime.exception.js';
import { isValidRoomId, ROOM_ID_RULE } from '../protocol/room-id.js';
import { requireString } from './payload.js';

/** Parses a `resume` message's data (`BAD_REQUEST` naming the field otherwise). */
export function parseResumeRequest(data: unknown, maxRooms: number): ResumeRequest {
  const sessionId = requireString(data, 'session_id', 128);
  const rooms = (data as { rooms?: unknown }).rooms ?? {};
  if (typeof rooms !== 'object' || rooms === null || Array.isArray(rooms)) {
    throw new RealtimeBadRequestException('data.rooms must be an object of room_id: { seq, epoch }');
  }
  const entries = Object.entries(rooms as Record<string, unknown>);
  if (entries.length > maxRooms) {
    throw new RealtimeBadRequestException(`data.rooms may name at most ${maxRooms} rooms`);
  }
  const positions = new Map<string, Sequenced>();
  for (const [roomId, position] of entries) {
    if (!isValidRoomId(roomId)) throw new RealtimeBadRequestException(`data.rooms: ${ROOM_ID_RULE}`);
    const { seq, epoch } = (typeof position === 'object' && position !== null ? position : {}) as {
      seq?: unknown;
      epoch?: unknown;
    };
    if (
      typeof seq !== 'number' ||
      !Number.isSafeInteger(seq) ||
      seq < 0 ||
      typeof epoch !== 'string' ||
      epoch.length === 0 ||
      epoch.length > 64
    ) {
      throw new RealtimeBadRequestException(
        `data.rooms.${roomId} must be { seq: a non-negative integer, epoch: the room's epoch as received }`,
      );
    }
    positions.set(roomId, { seq, epoch });
  }
  return { sessionId, rooms: positions };
}

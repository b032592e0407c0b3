import { RealtimeBadRequestException } from '../errors/realtime.exception.js';
import { isValidRoomId, ROOM_ID_RULE } from '../protocol/room-id.js';

/** Throws `BAD_REQUEST` for an invalid room id (the wire rule is in protocol/). */
export function assertValidRoomId(roomId: unknown): asserts roomId is string {
  if (!isValidRoomId(roomId)) throw new RealtimeBadRequestException(ROOM_ID_RULE);
}

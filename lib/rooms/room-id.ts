import { RealtimeBadRequestException } from '../errors/realtime.exception.js';

const ROOM_ID_PATTERN = /^[A-Za-z0-9_.:@#/-]{1,128}$/;

/** True for a valid room id: 1..128 characters of `[A-Za-z0-9_.:@#/-]`. */
export function isValidRoomId(roomId: unknown): roomId is string {
  return typeof roomId === 'string' && ROOM_ID_PATTERN.test(roomId);
}

export const ROOM_ID_RULE = 'room_id must be 1..128 characters of [A-Za-z0-9_.:@#/-]';

/** Throws `BAD_REQUEST` for an invalid room id. */
export function assertValidRoomId(roomId: unknown): asserts roomId is string {
  if (!isValidRoomId(roomId)) throw new RealtimeBadRequestException(ROOM_ID_RULE);
}

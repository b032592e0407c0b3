/** A valid room id (PROTOCOL.md): 1..128 characters of `[A-Za-z0-9_.:@#/-]`. */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9_.:@#/-]{1,128}$/;

/** True for a valid room id (PROTOCOL.md): 1..128 characters of `[A-Za-z0-9_.:@#/-]`. */
export function isValidRoomId(roomId: unknown): roomId is string {
  return typeof roomId === 'string' && ROOM_ID_PATTERN.test(roomId);
}

/** The rule, as error messages state it. */
export const ROOM_ID_RULE = 'room_id must be 1..128 characters of [A-Za-z0-9_.:@#/-]';

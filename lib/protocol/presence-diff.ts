import { isoNow } from '../utils/clock.js';
import type { PresenceDiffData, PresenceResetData, PresenceUser } from './server-frames.js';

/**
 * The `presence_diff` frame for one user arriving in (`joins`) or leaving (`leaves`) a room, as
 * JSON text. Built here only, for this node's members and for the cluster (which publishes it as
 * is when the change is cluster-wide), so that both carry one shape. It has `room` but no `seq`:
 * presence is state, not history, and is never replayed (a resuming client asks for `presence`).
 */
export function presenceDiffJson(roomId: string, kind: 'joins' | 'leaves', userId: string, username: string): string {
  const entry = [{ user_id: userId, username }];
  return presenceDiffListJson(roomId, kind === 'joins' ? entry : [], kind === 'leaves' ? entry : []);
}

/** The `presence_diff` frame for a window of changes (many users arriving and leaving), as JSON text. */
export function presenceDiffListJson(roomId: string, joins: PresenceUser[], leaves: PresenceUser[]): string {
  return JSON.stringify({
    type: 'presence_diff',
    room: roomId,
    data: { room_id: roomId, joins, leaves } satisfies PresenceDiffData,
    timestamp: isoNow(),
  });
}

/** The `presence_reset` frame: a window had too many changes to list; how many of each, as JSON text. */
export function presenceResetJson(roomId: string, joins: number, leaves: number): string {
  return JSON.stringify({
    type: 'presence_reset',
    room: roomId,
    data: { room_id: roomId, joins, leaves } satisfies PresenceResetData,
    timestamp: isoNow(),
  });
}

/** A `presence_diff` frame's changes (from the cluster), or undefined when it is not one. */
export function readPresenceDiff(frame: string): PresenceDiffData | undefined {
  const parsed = JSON.parse(frame) as { type?: unknown; data?: Partial<PresenceDiffData> } | null;
  const data = parsed?.data;
  if (parsed?.type !== 'presence_diff' || !Array.isArray(data?.joins) || !Array.isArray(data.leaves)) return undefined;
  return data as PresenceDiffData;
}

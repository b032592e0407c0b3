import { isoNow } from '../utils/clock.js';
import type { PresenceDiffData } from './server-frames.js';

/**
 * The `presence_diff` frame for one user arriving in (`joins`) or leaving (`leaves`) a room, as
 * JSON text. Built here only, for this node's members and for the cluster (which publishes it as
 * is when the change is cluster-wide), so that both carry one shape. It has `room` but no `seq`:
 * presence is state, not history, and is never replayed (a resuming client asks for `presence`).
 */
export function presenceDiffJson(roomId: string, kind: 'joins' | 'leaves', userId: string, username: string): string {
  const entry = [{ user_id: userId, username }];
  return JSON.stringify({
    type: 'presence_diff',
    room: roomId,
    data: {
      room_id: roomId,
      joins: kind === 'joins' ? entry : [],
      leaves: kind === 'leaves' ? entry : [],
    } satisfies PresenceDiffData,
    timestamp: isoNow(),
  });
}

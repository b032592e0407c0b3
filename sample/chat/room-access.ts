import type { RealtimeUser } from '../../lib/index.js';

/**
 * The sample's rule of who may be in which room, in one place for both ways into a room: a
 * WebSocket `join_room` (through {@link RoleRoomJoinPolicy}) and a REST post
 * (`POST /rooms/:id/messages`). A room whose id starts with one of `restrictedPrefixes`
 * (`ADMIN_ROOM_PREFIXES`, default `admin-` and `staff-`) is for users with the `admin` role;
 * every other room is open to every authenticated user.
 */
export class RoomAccess {
  constructor(
    readonly restrictedPrefixes: readonly string[],
    readonly requiredRole = 'admin',
  ) {}

  allows(user: RealtimeUser | undefined, roomId: string): boolean {
    if (!this.restrictedPrefixes.some((prefix) => roomId.startsWith(prefix))) return true;
    return user !== undefined && user.roles.includes(this.requiredRole);
  }
}

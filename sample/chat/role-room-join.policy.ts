import { Injectable } from '@nestjs/common';
import { type RealtimeUser, RoomJoinPolicy } from '../../lib/index.js';
import { RoomAccess } from './room-access.js';

/**
 * The sample's {@link RoomJoinPolicy} (`RealtimeModule.forRoot({ joinPolicy })`): WebSocket joins,
 * resumes and re-checks after a re-authentication follow the same {@link RoomAccess} rule as
 * REST posts. A refused join gets `error FORBIDDEN`.
 */
@Injectable()
export class RoleRoomJoinPolicy extends RoomJoinPolicy {
  constructor(private readonly access: RoomAccess) {
    super();
  }

  canJoin(user: RealtimeUser | undefined, roomId: string): boolean {
    return this.access.allows(user, roomId);
  }
}

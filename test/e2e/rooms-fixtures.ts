import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import {
  OnRealtimeEvent,
  RealtimeConnection,
  type RealtimeEventMap,
  type RealtimeUser,
  RoomJoinPolicy,
} from '../../lib/index.js';

/** `vip-*` rooms are for users with role `vip`. */
@Injectable()
export class VipJoinPolicy extends RoomJoinPolicy {
  canJoin(user: RealtimeUser | undefined, roomId: string): boolean {
    return !roomId.startsWith('vip-') || (user?.roles.includes('vip') ?? false);
  }
}

/** A join guard: nobody joins `closed-*` rooms. */
@Injectable()
export class ClosedRoomsGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const ws = context.switchToWs();
    const connection = ws.getClient<RealtimeConnection>();
    return connection instanceof RealtimeConnection && !ws.getData<{ room_id: string }>().room_id.startsWith('closed-');
  }
}

/** Records room events through `@OnRealtimeEvent`. */
@Injectable()
export class RoomEventRecorder {
  readonly joined: string[] = [];
  readonly closed: number[] = [];

  @OnRealtimeEvent('room.joined')
  onJoined({ connection, roomId, clientCount }: RealtimeEventMap['room.joined']): void {
    this.joined.push(`${connection.userId}@${roomId}#${clientCount}`);
  }

  @OnRealtimeEvent('connection.closed')
  onClosed({ code }: RealtimeEventMap['connection.closed']): void {
    this.closed.push(code);
  }
}

import { Injectable } from '@nestjs/common';
import { ConnectionManager } from '../connections/connection.manager.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { Connection, MessageData } from '../decorators/param.decorators.js';
import { OnMessage } from '../decorators/on-message.decorator.js';
import { RequireRoles } from '../decorators/require-roles.decorator.js';
import { UserOfflineException } from '../errors/realtime.exception.js';
import { RoomManager } from '../rooms/room.manager.js';
import { isoNow } from '../utils/clock.js';
import { requireString } from './payload.js';
import { senderOf } from './sender-identity.js';
import { BuiltinHandlers } from '../decorators/builtin-handlers.decorator.js';
import type { AnnouncementData, PrivateMessageData } from '../protocol/server-frames.js';

/** The built-in `private_message` and `admin_message`. */
@Injectable()
@BuiltinHandlers()
export class DirectMessageHandlers {
  constructor(
    private readonly rooms: RoomManager,
    private readonly connections: ConnectionManager,
  ) {}

  /** To every connection of the target user; `USER_OFFLINE` when there is none. */
  @OnMessage('private_message', { reply: 'private_message' })
  async privateMessage(@MessageData() data: unknown, @Connection() connection: RealtimeConnection): Promise<void> {
    const target = requireString(data, 'target_user_id', 256);
    const content = requireString(data, 'content');
    if (!(await this.rooms.isUserOnline(target))) throw new UserOfflineException(target);
    const sender = senderOf(connection);
    this.rooms.sendToUser(target, 'private_message', {
      from_user_id: sender.id,
      from_username: sender.username,
      content,
      timestamp: isoNow(),
    } satisfies PrivateMessageData);
  }

  /** `announcement` to every connection; needs role `admin`. */
  @OnMessage('admin_message', { reply: 'announcement' })
  @RequireRoles('admin')
  adminMessage(@MessageData() data: unknown, @Connection() connection: RealtimeConnection): void {
    const content = requireString(data, 'content');
    this.rooms.sendToAll('announcement', {
      content,
      from_user_id: senderOf(connection).id,
      timestamp: isoNow(),
    } satisfies AnnouncementData);
  }
}

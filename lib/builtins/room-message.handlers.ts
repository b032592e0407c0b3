import { Injectable } from '@nestjs/common';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { Connection, Message } from '../decorators/param.decorators.js';
import { OnMessage } from '../decorators/on-message.decorator.js';
import { NotInRoomException, RealtimeForbiddenException } from '../errors/realtime.exception.js';
import type { ChatMessageData, Envelope } from '../protocol/envelope.js';
import { RoomManager } from '../rooms/room.manager.js';
import { isoNow } from '../utils/clock.js';
import { requireString } from './payload.js';
import { senderOf } from './sender-identity.js';
import { BuiltinHandlers } from '../decorators/builtin-handlers.decorator.js';
import type { PresenceStateData } from '../protocol/server-frames.js';

const noReply = (): void => undefined;

/**
 * The built-in room messages: `join_room`, `leave_room`, `chat` and `presence`. `room_joined` and
 * `room_left` are sent by the RoomManager itself, in the same tick as the membership change.
 */
@Injectable()
@BuiltinHandlers()
export class RoomMessageHandlers {
  constructor(private readonly rooms: RoomManager) {}

  @OnMessage('join_room', { reply: 'room_joined' })
  async joinRoom(@Connection() connection: RealtimeConnection, @Message() message: Envelope): Promise<void> {
    const roomId = requireString(message.data, 'room_id');
    this.rooms.assertRoomId(roomId);
    await this.rooms.join(connection, roomId, { requestId: message.id });
  }

  @OnMessage('leave_room', { reply: 'room_left' })
  leaveRoom(@Connection() connection: RealtimeConnection, @Message() message: Envelope): void {
    const roomId = requireString(message.data, 'room_id');
    this.rooms.assertRoomId(roomId);
    this.rooms.leave(connection, roomId, 'leave', message.id);
  }

  @OnMessage('chat', { reply: 'chat_message' })
  chat(@Connection() connection: RealtimeConnection, @Message() message: Envelope): Promise<void> {
    const roomId = requireString(message.data, 'room_id');
    const content = requireString(message.data, 'content');
    if (!this.rooms.isMember(connection, roomId)) throw new NotInRoomException(roomId);
    const sender = senderOf(connection);
    const data: ChatMessageData = {
      room_id: roomId,
      user_id: sender.id,
      username: sender.username,
      content,
      timestamp: isoNow(),
    };
    // Local delivery happens inside this call; with a cluster the frame comes back through it.
    // The promise goes back to the dispatcher, so a failure becomes an error frame, not a crash.
    return this.rooms.broadcast(roomId, 'chat_message', data).then(noReply);
  }

  @OnMessage('presence', { reply: 'presence_state' })
  async presence(
    @Connection() connection: RealtimeConnection,
    @Message() message: Envelope,
  ): Promise<PresenceStateData> {
    const roomId = requireString(message.data, 'room_id');
    if (!this.rooms.isMember(connection, roomId)) throw new NotInRoomException(roomId);
    if (!this.rooms.presenceEnabled(roomId))
      throw new RealtimeForbiddenException(`presence is off in room "${roomId}"`);
    return { room_id: roomId, users: await this.rooms.clusterPresence(roomId) };
  }
}

import { Injectable, ValidationPipe } from '@nestjs/common';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { Connection, MessageData, OnMessage, type RealtimeConnection, RequireRoles } from '../../lib/index.js';

export class AdminMessageDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(2000)
  content!: string;
}

/** Payload of `announcement` (PROTOCOL.md). */
export interface Announcement {
  content: string;
  from_user_id: string;
  timestamp: string;
}

@Injectable()
export class AdminHandlers {
  /**
   * `admin_message` → `announcement`. Until rooms and broadcast land it answers the sender only.
   * The sender's identity comes from the connection, never from the message.
   */
  @OnMessage('admin_message', { reply: 'announcement' })
  @RequireRoles('admin')
  announce(
    @MessageData(new ValidationPipe({ transform: true })) message: AdminMessageDto,
    @Connection() connection: RealtimeConnection,
  ): Announcement {
    return { content: message.content, from_user_id: connection.user!.id, timestamp: new Date().toISOString() };
  }
}

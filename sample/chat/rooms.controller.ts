import { Body, Controller, Get, HttpCode, Param, Post, Req, UseGuards, ValidationPipe } from '@nestjs/common';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import {
  type ChatMessageData,
  isValidRoomId,
  RealtimeForbiddenException,
  RealtimeHttpAuthGuard,
  type RealtimeUser,
  type RoomInfo,
  RoomManager,
} from '../../lib/index.js';
import { RoomAccess } from './room-access.js';
import { UserThrottlerGuard } from './user-throttler.guard.js';

export class PostMessageDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(65_536)
  content!: string;
}

/**
 * REST side of the chat: what any controller of a user's app can do with the injected
 * RoomManager.
 */
@Controller('rooms')
export class RoomsController {
  constructor(
    private readonly rooms: RoomManager,
    private readonly access: RoomAccess,
  ) {}

  /** The rooms, to authenticated users only (room names can say more than their owners want). */
  @Get()
  @UseGuards(RealtimeHttpAuthGuard)
  list(): Promise<RoomInfo[]> {
    // Cluster totals when REDIS_URL is set; this node's rooms otherwise.
    return this.rooms.clusterList();
  }

  /**
   * Broadcasts a `chat_message` to the room's members, as the token's user: 403 when the user
   * could not join the room over WebSocket either (the same {@link RoomAccess} rule), 429 past
   * `REST_RATE_LIMIT` posts per user per minute (refused posts count too).
   */
  @Post(':id/messages')
  @HttpCode(202)
  @UseGuards(RealtimeHttpAuthGuard, UserThrottlerGuard)
  async post(
    @Param('id') roomId: string,
    @Body(new ValidationPipe({ whitelist: true })) body: PostMessageDto,
    @Req() request: { user: RealtimeUser },
  ): Promise<{ room_id: string; seq: number }> {
    // A bad room id is a 400 from RoomManager below, whatever its prefix.
    if (isValidRoomId(roomId) && !this.access.allows(request.user, roomId)) {
      throw new RealtimeForbiddenException(`not allowed to post to room "${roomId}"`);
    }
    const data: ChatMessageData = {
      room_id: roomId,
      user_id: request.user.id,
      username: request.user.username,
      content: body.content,
      timestamp: new Date().toISOString(),
    };
    // A bad room id is refused by RoomManager itself: HTTP 400 with the rule as the message.
    const { seq } = await this.rooms.broadcast(roomId, 'chat_message', data);
    return { room_id: roomId, seq };
  }
}

import { Body, Controller, Get, HttpCode, Param, Post, Req, UseGuards, ValidationPipe } from '@nestjs/common';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import {
  type ChatMessageData,
  RealtimeHttpAuthGuard,
  type RealtimeUser,
  type RoomInfo,
  RoomManager,
} from '../../lib/index.js';

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
  constructor(private readonly rooms: RoomManager) {}

  /** The rooms, to authenticated users only (room names can say more than their owners want). */
  @Get()
  @UseGuards(RealtimeHttpAuthGuard)
  list(): Promise<RoomInfo[]> {
    // Cluster totals when REDIS_URL is set; this node's rooms otherwise.
    return this.rooms.clusterList();
  }

  /** Broadcasts a `chat_message` to the room's members, as the token's user. */
  @Post(':id/messages')
  @HttpCode(202)
  @UseGuards(RealtimeHttpAuthGuard)
  async post(
    @Param('id') roomId: string,
    @Body(new ValidationPipe({ whitelist: true })) body: PostMessageDto,
    @Req() request: { user: RealtimeUser },
  ): Promise<{ room_id: string; seq: number }> {
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

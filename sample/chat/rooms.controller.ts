import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Req,
  UseGuards,
  ValidationPipe,
} from '@nestjs/common';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import {
  type ChatMessageData,
  isValidRoomId,
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

  @Get()
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
    if (!isValidRoomId(roomId))
      throw new BadRequestException('room id must be 1..128 characters of [A-Za-z0-9_.:@#/-]');
    const data: ChatMessageData = {
      room_id: roomId,
      user_id: request.user.id,
      username: request.user.username,
      content: body.content,
      timestamp: new Date().toISOString(),
    };
    const { seq } = await this.rooms.broadcast(roomId, 'chat_message', data);
    return { room_id: roomId, seq };
  }
}

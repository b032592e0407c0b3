import { Injectable, ValidationPipe } from '@nestjs/common';
import { IsIn, IsInt, IsString, Length, Matches, Min } from 'class-validator';
import {
  Connection,
  CurrentUser,
  MessageData,
  MessageDoc,
  NotInRoomException,
  OnMessage,
  type RealtimeConnection,
  type RealtimeUser,
  RoomManager,
} from '../../lib/index.js';

/** The reactions the chat page offers. */
export const REACTION_EMOJIS = ['👍', '❤️', '😂', '🎉', '😮', '😢'] as const;

/**
 * A `reaction` message's `data`. A chat message has no id of its own on the wire: it is the
 * room's broadcast number `seq`, which every member received with it.
 */
export class ReactionDto {
  @IsString()
  @Length(1, 128)
  @Matches(/^[A-Za-z0-9_.:@#/-]+$/)
  room_id!: string;

  @IsInt()
  @Min(1)
  seq!: number;

  @IsIn(REACTION_EMOJIS)
  emoji!: string;
}

/** `reaction_added`'s `data`: who reacted to which message, with what. */
export class ReactionAddedDto {
  @IsString()
  room_id!: string;

  @IsInt()
  @Min(1)
  seq!: number;

  @IsIn(REACTION_EMOJIS)
  emoji!: string;

  @IsString()
  user_id!: string;

  @IsString()
  username!: string;
}

/**
 * Reactions to chat messages: an application handler with a DTO, as a user of the module writes
 * one. The `ValidationPipe` refuses bad data with `error BAD_REQUEST` (the problems in
 * `data.details`); `@MessageDoc` and the DTOs are what the AsyncAPI document shows
 * (`GET /asyncapi.json`).
 */
@Injectable()
export class ReactionHandlers {
  constructor(private readonly rooms: RoomManager) {}

  @OnMessage('reaction', { reply: 'reaction_added' })
  @MessageDoc({
    summary: 'React to a chat message of a room with an emoji.',
    description:
      'The message is named by its `seq` in the room. Every member of the room, the sender ' +
      'included, gets `reaction_added`; a sender who is not a member gets `error NOT_IN_ROOM`.',
    example: { room_id: 'general', seq: 41, emoji: '👍' },
    replyType: ReactionAddedDto,
    replyExample: { room_id: 'general', seq: 41, emoji: '👍', user_id: 'u-17', username: 'ann' },
    replyTo: 'room',
  })
  async react(
    @MessageData(new ValidationPipe({ transform: true, whitelist: true })) reaction: ReactionDto,
    @Connection() connection: RealtimeConnection,
    @CurrentUser() user: RealtimeUser,
  ): Promise<void> {
    if (!this.rooms.isMember(connection, reaction.room_id)) throw new NotInRoomException(reaction.room_id);
    const data: ReactionAddedDto = {
      room_id: reaction.room_id,
      seq: reaction.seq,
      emoji: reaction.emoji,
      user_id: user.id,
      username: user.username,
    };
    await this.rooms.broadcast(reaction.room_id, 'reaction_added', data);
  }
}

import { Inject, Injectable } from '@nestjs/common';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { Connection, Message } from '../decorators/param.decorators.js';
import { OnMessage } from '../decorators/on-message.decorator.js';
import { RoomResume } from '../history/room-resume.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import type { Envelope } from '../protocol/envelope.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { parseResumeRequest } from './resume-request.js';
import { BuiltinHandlers } from '../decorators/builtin-handlers.decorator.js';

/**
 * The built-in `resume` message: parses it (`BAD_REQUEST` naming the field) and hands it to
 * {@link RoomResume}, which re-joins the session's rooms and replays what they missed.
 */
@Injectable()
@BuiltinHandlers()
export class ResumeMessageHandler {
  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly resumes: RoomResume,
  ) {}

  @OnMessage('resume', { reply: 'resumed' })
  async resume(@Connection() connection: RealtimeConnection, @Message() message: Envelope): Promise<void> {
    const request = parseResumeRequest(message.data, this.options.resume.maxRooms);
    await this.resumes.resume(connection, request, message.id);
  }
}

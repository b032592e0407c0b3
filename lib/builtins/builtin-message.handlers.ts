import { Injectable } from '@nestjs/common';
import { MessageData } from '../decorators/param.decorators.js';
import { OnMessage } from '../decorators/on-message.decorator.js';
import { Public } from '../decorators/public.decorator.js';
import { Reply } from '../dispatch/reply.js';
import { MessageType } from '../protocol/message-types.js';
import { BuiltinHandlers } from '../decorators/builtin-handlers.decorator.js';

/**
 * The built-in `echo` and `ping` of PROTOCOL.md (`ping` needs no authentication). Each yields to an application handler for the
 * same type and can be switched off with the `builtins` option.
 */
@Injectable()
@BuiltinHandlers()
export class BuiltinMessageHandlers {
  @OnMessage(MessageType.ECHO, { reply: MessageType.ECHO_RESPONSE })
  echo(@MessageData() data: unknown): Reply {
    // A Reply, so that `echo` without data still gets its `echo_response`.
    return new Reply(MessageType.ECHO_RESPONSE, data);
  }

  @OnMessage(MessageType.PING, { reply: MessageType.PONG })
  @Public()
  ping(): Reply {
    return new Reply(MessageType.PONG, undefined);
  }
}

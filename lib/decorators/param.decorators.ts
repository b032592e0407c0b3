import { assignMetadata, type PipeTransform, type Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '../internal/nest-internals.js';
import type { RealtimeUser } from '../interfaces/realtime-user.interface.js';

/**
 * Parameter kinds of a message handler. `CONNECTION` and `DATA` share their numbers with
 * `@nestjs/websockets`' `WsParamtype.SOCKET` and `PAYLOAD`, so `@ConnectedSocket()` and
 * `@MessageBody()` from that package work on `@OnMessage` handlers too.
 */
export const RealtimeParamType = {
  CONNECTION: 0,
  DATA: 3,
  MESSAGE: 101,
  USER: 102,
} as const;

type PipeLike = PipeTransform | Type<PipeTransform>;

function createParamDecorator(paramType: number, withProperty: boolean) {
  return (propertyOrPipe?: string | PipeLike, ...pipes: PipeLike[]): ParameterDecorator =>
    (target, key, index) => {
      const property = withProperty && typeof propertyOrPipe === 'string' ? propertyOrPipe : undefined;
      const allPipes =
        propertyOrPipe === undefined || typeof propertyOrPipe === 'string' ? pipes : [propertyOrPipe, ...pipes];
      const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, target.constructor, key!) ?? {};
      Reflect.defineMetadata(
        ROUTE_ARGS_METADATA,
        assignMetadata(args, paramType, index, { data: property, pipes: allPipes }),
        target.constructor,
        key!,
      );
    };
}

/**
 * The message's `data`, or one property of it (`@MessageData('content')`), optionally through
 * pipes: `@MessageData(new ValidationPipe()) dto: ChatDto`.
 */
export const MessageData = createParamDecorator(RealtimeParamType.DATA, true) as (
  propertyOrPipe?: string | PipeLike,
  ...pipes: PipeLike[]
) => ParameterDecorator;

/** The whole inbound envelope (`type`, `id`, `room`, `data`, `metadata`, ...). */
export const Message = createParamDecorator(RealtimeParamType.MESSAGE, false) as () => ParameterDecorator;

/** The sender's {@link RealtimeConnection}. */
export const Connection = createParamDecorator(RealtimeParamType.CONNECTION, false) as () => ParameterDecorator;

/**
 * The authenticated user of the sender's connection, or one property of it
 * (`@CurrentUser('id') userId: string`). It is never `undefined`: when the connection is not
 * authenticated (no token yet, or its token expired) the message is refused with
 * `AUTH_REQUIRED` before the handler runs — so `user: RealtimeUser` needs no `!` or check, also
 * in a `@Public()` handler or with `auth.required: false`.
 *
 * For `@OnMessage` handlers; in an HTTP route behind `RealtimeHttpAuthGuard` the user is
 * `request.user` (`@Req()`).
 */
export const CurrentUser = createParamDecorator(RealtimeParamType.USER, true) as (
  property?: keyof RealtimeUser,
) => ParameterDecorator;

import type { ParamData } from '@nestjs/common';
import type { ParamsFactory } from '@nestjs/core';
import type { RealtimeUser } from '../interfaces/realtime-user.interface.js';
import { RealtimeConnection } from '../connections/realtime-connection.js';
import { RealtimeParamType } from '../decorators/param.decorators.js';
import { AuthRequiredException } from '../errors/realtime.exception.js';

/**
 * Arguments of every handler invocation, in this order, so that `switchToWs().getClient()` is
 * the connection, `getData()` the payload and `getPattern()` the message type.
 */
export type HandlerArgs = [connection: unknown, data: unknown, message: unknown, type: string];

function pick(value: unknown, property: ParamData | undefined): unknown {
  if (property === undefined || property === null || typeof property === 'object') return value;
  return value !== null && typeof value === 'object'
    ? (value as Record<string, unknown>)[property as string]
    : undefined;
}

/** Resolves our parameter decorators (and `@nestjs/websockets`' `@MessageBody`/`@ConnectedSocket`). */
export class RealtimeParamsFactory implements ParamsFactory {
  exchangeKeyForValue(type: number, data: ParamData | undefined, args: HandlerArgs): unknown {
    return extractParam(type, data, args[0], args[1], args[2]);
  }
}

/** `@CurrentUser()`: the connection's user, or `AUTH_REQUIRED` rather than `undefined`. */
function authenticatedUser(connection: unknown): RealtimeUser {
  if (connection instanceof RealtimeConnection && connection.isAuthenticated()) return connection.user!;
  throw new AuthRequiredException();
}

/** Shared by the Nest pipeline and the direct path, so both resolve parameters identically. */
export function extractParam(
  type: number,
  property: ParamData | undefined,
  connection: unknown,
  data: unknown,
  message: unknown,
): unknown {
  switch (type) {
    case RealtimeParamType.CONNECTION:
      return connection;
    case RealtimeParamType.DATA:
      return pick(data, property);
    case RealtimeParamType.MESSAGE:
      return message;
    case RealtimeParamType.USER:
      return pick(authenticatedUser(connection), property);
    default:
      return undefined;
  }
}

import { HttpException, HttpStatus } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { ErrorCode, ErrorFrameType } from '../protocol/error-codes.js';

/**
 * The HTTP status of each error code, for a {@link RealtimeException} thrown in an HTTP context
 * (a REST controller calling `RoomManager`). Codes not listed (an application's own) are 400:
 * a `RealtimeException` says what the caller did wrong, never that the server failed.
 */
const HTTP_STATUS_OF_CODE: Readonly<Record<string, number>> = {
  [ErrorCode.BAD_MESSAGE]: HttpStatus.BAD_REQUEST,
  [ErrorCode.BAD_REQUEST]: HttpStatus.BAD_REQUEST,
  [ErrorCode.UNKNOWN_TYPE]: HttpStatus.BAD_REQUEST,
  [ErrorCode.AUTH_REQUIRED]: HttpStatus.UNAUTHORIZED,
  [ErrorCode.AUTH_FAILED]: HttpStatus.UNAUTHORIZED,
  [ErrorCode.TOKEN_EXPIRED]: HttpStatus.UNAUTHORIZED,
  [ErrorCode.FORBIDDEN]: HttpStatus.FORBIDDEN,
  [ErrorCode.INSUFFICIENT_PERMISSIONS]: HttpStatus.FORBIDDEN,
  [ErrorCode.NOT_FOUND]: HttpStatus.NOT_FOUND,
  [ErrorCode.USER_OFFLINE]: HttpStatus.NOT_FOUND,
  [ErrorCode.NOT_IN_ROOM]: HttpStatus.CONFLICT,
  [ErrorCode.RATE_LIMITED]: HttpStatus.TOO_MANY_REQUESTS,
  [ErrorCode.TOO_MANY_CONNECTIONS]: HttpStatus.TOO_MANY_REQUESTS,
  [ErrorCode.INTERNAL]: HttpStatus.INTERNAL_SERVER_ERROR,
};

/** The HTTP status a {@link RealtimeException} with this code answers in an HTTP context. */
function httpStatusOfErrorCode(code: string): number {
  return HTTP_STATUS_OF_CODE[code] ?? HttpStatus.BAD_REQUEST;
}

/** The JSON body of a {@link RealtimeException} in an HTTP context: Nest's usual shape plus the code. */
export interface RealtimeHttpErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string;
  details?: unknown;
}

/**
 * An error that becomes a PROTOCOL.md error frame on the wire:
 * `{ type: frameType, id, data: { code, message, details? } }`. Throw it (or a subclass) from a
 * handler, guard, pipe or filter. Its message is sent to the client, so it must not contain
 * internals.
 *
 * It is an `HttpException` too, so that the same error thrown by a REST controller (a bad room id
 * given to `RoomManager.broadcast()`) gets the right status from Nest's default exception filter
 * — `{ statusCode, error, code, message, details? }` with 400, 401, 403, 404, 409 or 429 (see
 * {@link httpStatusOfErrorCode}) — instead of an anonymous 500. Like every `HttpException` (an
 * `IntrinsicException`), Nest does not log it as a server error.
 */
export class RealtimeException extends HttpException {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly frameType: ErrorFrameType = ErrorFrameType.ERROR,
    httpStatus: number = httpStatusOfErrorCode(code),
  ) {
    const body: RealtimeHttpErrorBody = {
      statusCode: httpStatus,
      error: STATUS_CODES[httpStatus] ?? 'Error',
      code,
      message,
      ...(details !== undefined && { details }),
    };
    super(body, httpStatus);
    this.name = new.target.name;
  }
}

/** `BAD_REQUEST`: a required field is missing or has the wrong type. */
export class RealtimeBadRequestException extends RealtimeException {
  constructor(message = 'bad request', details?: unknown) {
    super(ErrorCode.BAD_REQUEST, message, details);
  }
}

/** `FORBIDDEN`: the action is refused by a policy (a guard returned false, a room refused a join). */
export class RealtimeForbiddenException extends RealtimeException {
  constructor(message = 'forbidden') {
    super(ErrorCode.FORBIDDEN, message);
  }
}

/** `AUTH_REQUIRED`: the message needs an authenticated connection. */
export class AuthRequiredException extends RealtimeException {
  constructor() {
    super(ErrorCode.AUTH_REQUIRED, 'authentication required');
  }
}

/**
 * `auth_error AUTH_FAILED`: a token was refused. The message never says why (bad signature,
 * expired, unknown user ...), so that it does not help an attacker; the server logs the reason at
 * debug level.
 */
export class AuthFailedException extends RealtimeException {
  constructor(message = 'authentication failed') {
    super(ErrorCode.AUTH_FAILED, message, undefined, ErrorFrameType.AUTH_ERROR);
  }
}

/** `auth_error TOO_MANY_CONNECTIONS`: the user already has `maxConnectionsPerUser` connections. */
export class TooManyConnectionsException extends RealtimeException {
  constructor(message = 'connection limit reached for this user') {
    super(ErrorCode.TOO_MANY_CONNECTIONS, message, undefined, ErrorFrameType.AUTH_ERROR);
  }
}

/** `authorization_error INSUFFICIENT_PERMISSIONS`: authenticated, but without a required role. */
export class InsufficientPermissionsException extends RealtimeException {
  constructor(message = 'insufficient permissions') {
    super(ErrorCode.INSUFFICIENT_PERMISSIONS, message, undefined, ErrorFrameType.AUTHORIZATION_ERROR);
  }
}

/** `NOT_IN_ROOM`: the action needs membership of the room (chat, presence). */
export class NotInRoomException extends RealtimeException {
  constructor(roomId: string) {
    super(ErrorCode.NOT_IN_ROOM, `join room "${roomId}" first`);
  }
}

/** `USER_OFFLINE`: the target user has no live connection. */
export class UserOfflineException extends RealtimeException {
  constructor(userId: string) {
    super(ErrorCode.USER_OFFLINE, `user "${userId}" is offline`);
  }
}

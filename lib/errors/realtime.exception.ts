import { IntrinsicException } from '@nestjs/common';
import { ErrorCode, ErrorFrameType } from '../protocol/error-codes.js';

/**
 * An error that becomes a PROTOCOL.md error frame on the wire:
 * `{ type: frameType, id, data: { code, message, details? } }`. Throw it (or a subclass) from a
 * handler, guard, pipe or filter. Its message is sent to the client, so it must not contain
 * internals. It extends `IntrinsicException` so that Nest does not log it as a server error.
 */
export class RealtimeException extends IntrinsicException {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly frameType: ErrorFrameType = ErrorFrameType.ERROR,
  ) {
    super(message);
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

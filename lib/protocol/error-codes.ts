/** The `data.code` values of error frames (PROTOCOL.md, "Errors"). */
export const ErrorCode = {
  BAD_MESSAGE: 'BAD_MESSAGE',
  AUTH_REQUIRED: 'AUTH_REQUIRED',
  AUTH_FAILED: 'AUTH_FAILED',
  INSUFFICIENT_PERMISSIONS: 'INSUFFICIENT_PERMISSIONS',
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  BAD_REQUEST: 'BAD_REQUEST',
  /** What the message asked for does not exist (a handler threw a 404 `NotFoundException`). */
  NOT_FOUND: 'NOT_FOUND',
  NOT_IN_ROOM: 'NOT_IN_ROOM',
  FORBIDDEN: 'FORBIDDEN',
  USER_OFFLINE: 'USER_OFFLINE',
  INTERNAL: 'INTERNAL',
  RATE_LIMITED: 'RATE_LIMITED',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  /** `auth_error`: the user already has `maxConnectionsPerUser` connections. */
  TOO_MANY_CONNECTIONS: 'TOO_MANY_CONNECTIONS',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Frame types that carry an error (`data: { code, message, details? }`). */
export const ErrorFrameType = {
  ERROR: 'error',
  AUTH_ERROR: 'auth_error',
  AUTHORIZATION_ERROR: 'authorization_error',
} as const;

export type ErrorFrameType = (typeof ErrorFrameType)[keyof typeof ErrorFrameType];

/**
 * WebSocket close codes used by the server (PROTOCOL.md, "Errors").
 * The 1xxx codes are RFC 6455's; 4xxx are application codes of this protocol.
 */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  TOKEN_EXPIRED: 4001,
  KICKED: 4003,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * The reasons that tell the two 4001s apart (PROTOCOL.md, "Errors"): a client with a fixed token
 * retries after the first (that attempt's `auth` came too late), not after the second.
 */
export const CloseReason = {
  AUTHENTICATION_TIMEOUT: 'authentication timeout',
  TOKEN_EXPIRED: 'token expired',
} as const;

/** Built-in frame types of PROTOCOL.md. */
export const MessageType = {
  CONNECTED: 'connected',
  ERROR: 'error',
  ECHO: 'echo',
  ECHO_RESPONSE: 'echo_response',
  PING: 'ping',
  PONG: 'pong',
} as const;

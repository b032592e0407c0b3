/**
 * The message envelope of PROTOCOL.md. Everything on the wire, in both directions, is one of
 * these, serialized as one JSON text frame.
 */
export interface Envelope<TData = unknown> {
  /** 1..64 characters of `[A-Za-z0-9_.:-]`. */
  type: string;
  /** Optional request id; every reply or error caused by this message repeats it. */
  id?: string | number;
  to?: string;
  room?: string;
  data?: TData;
  /** ISO-8601; the server sets it on everything it sends. */
  timestamp?: string;
  metadata?: Record<string, unknown>;
  /** Room sequence number, on room broadcasts. */
  seq?: number;
  /** Room history epoch, on room broadcasts. */
  epoch?: string;
}

/** Payload of an error frame (`error`, `auth_error`, `authorization_error`). */
export interface ErrorData {
  code: string;
  message: string;
  details?: unknown;
}

/** Payload of the `connected` frame, the first frame on every connection. */
export interface ConnectedData {
  client_id: string;
  session_id: string;
  node_id: string;
  heartbeat_ms: number;
}

/** Payload of `chat_message` (the built-in `chat`'s broadcast). */
export interface ChatMessageData {
  room_id: string;
  user_id: string;
  username: string;
  content: string;
  timestamp: string;
}

export const MAX_ID_LENGTH = 128;

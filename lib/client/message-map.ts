import type { ChatMessageData, ConnectedData, Envelope, ErrorData } from '../protocol/envelope.js';
import type { RoomPosition } from './room-positions.js';

/** `auth_success` payload. */
export interface AuthSuccessData {
  user_id: string;
  username: string;
  roles: string[];
}

/** `room_joined` payload; `seq`/`epoch` is the room's position at the join, when the server tells. */
export interface RoomJoinedData {
  room_id: string;
  client_count: number;
  seq?: number;
  epoch?: string;
}

/**
 * What {@link RealtimeClient.request} resolves with: the reply's envelope, whose `data` is the
 * reply's payload as the caller typed it (a reply without `data` gives `undefined`, which only a
 * type that allows it should claim).
 */
export interface Reply<TData = unknown> extends Envelope<TData> {
  data: TData;
}

export interface RoomLeftData {
  room_id: string;
}

/** `chat_message` payload: one definition, shared with the server. */
export type { ChatMessageData };

export interface PrivateMessageData {
  from_user_id: string;
  from_username: string;
  content: string;
  timestamp: string;
}

export interface AnnouncementData {
  content: string;
  from_user_id: string;
  timestamp: string;
}

export interface PresenceUser {
  user_id: string;
  username: string;
  connections?: number;
}

export interface PresenceStateData {
  room_id: string;
  users: PresenceUser[];
}

export interface PresenceDiffData {
  room_id: string;
  joins: PresenceUser[];
  leaves: PresenceUser[];
}

export interface ResumedData {
  rooms: string[];
}

/** `resume_failed` payload (also the client's own `resume_failed` event). */
export interface ResumeFailedData {
  room_id: string;
  /** Why: the server's reason, or the client's (`resume_refused`, `resume_unsupported`, `epoch_changed`, ...). */
  reason: string;
  /** The room's current position, when known. */
  seq?: number;
  epoch?: string;
}

/** Payloads of the built-in frames the server sends (PROTOCOL.md, "Built-in message types"). */
export interface ServerMessageMap {
  connected: ConnectedData;
  auth_success: AuthSuccessData;
  auth_error: ErrorData;
  authorization_error: ErrorData;
  error: ErrorData;
  echo_response: unknown;
  pong: unknown;
  room_joined: RoomJoinedData;
  room_left: RoomLeftData;
  chat_message: ChatMessageData;
  private_message: PrivateMessageData;
  announcement: AnnouncementData;
  presence_state: PresenceStateData;
  presence_diff: PresenceDiffData;
  resumed: ResumedData;
  resume_failed: ResumeFailedData;
}

/** The payload type of frame `T`: typed for the built-ins, `unknown` for an app's own types. */
export type MessageData<T extends string> = T extends keyof ServerMessageMap ? ServerMessageMap[T] : unknown;

/** A handler of frames of type `T`: the payload and the whole envelope. */
export type MessageHandler<T extends string> = (data: MessageData<T>, envelope: Envelope<MessageData<T>>) => void;

/** `resume`'s payload (client → server). */
export interface ResumeRequestData {
  session_id: string;
  rooms: Record<string, RoomPosition>;
}

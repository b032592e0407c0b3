import type { ChatMessageData, ConnectedData, ErrorData } from './envelope.js';

// The payloads of the frames the server sends (PROTOCOL.md, "Built-in message types"), defined
// once: the server checks the frames it builds against them (`satisfies`, no runtime cost) and
// the client SDK reads frames as them (lib/client/message-map.ts re-exports them under the
// names it has always used). Types only: nothing here exists at run time.

/** `auth_success` payload: who the connection is now. */
export interface AuthSuccessData {
  user_id: string;
  username: string;
  /** Read-only so that the server can send the user's own list without a copy. */
  roles: readonly string[];
}

/** `room_joined` payload; `seq`/`epoch` is the room's position at the join, when the server tells. */
export interface RoomJoinedData {
  room_id: string;
  client_count: number;
  seq?: number;
  epoch?: string;
}

/**
 * `room_left` payload. `reason` is set when the server, not the client, ended the membership:
 * `forbidden` (the join policy refused the connection's new identity, or a resumed room) or
 * `error` (the policy failed).
 */
export interface RoomLeftData {
  room_id: string;
  reason?: 'forbidden' | 'error';
}

/** `private_message` payload, to every connection of the target user. */
export interface PrivateMessageData {
  from_user_id: string;
  from_username: string;
  content: string;
  timestamp: string;
}

/** `announcement` payload (the built-in `admin_message`'s broadcast to every connection). */
export interface AnnouncementData {
  content: string;
  from_user_id: string;
  timestamp: string;
}

/** One user in `presence_state` (with its connection count) or `presence_diff` (without). */
export interface PresenceUser {
  user_id: string;
  username: string;
  connections?: number;
}

/** `presence_state` payload: the room's users, cluster-wide. */
export interface PresenceStateData {
  room_id: string;
  users: PresenceUser[];
}

/**
 * `presence_diff` payload: users (not tabs) that arrived in or left the room. Above a room's
 * `presenceDiffLimit` one frame carries the changes of a whole window, at most one entry per
 * user (its latest change); a client applies it as set operations (a join adds or updates the
 * user, a leave removes it).
 */
export interface PresenceDiffData {
  room_id: string;
  joins: PresenceUser[];
  leaves: PresenceUser[];
}

/**
 * `presence_reset` payload: more users arrived in or left the room within one window than a diff
 * lists (`presenceDiffMaxUsers`), so none were listed: how many of each, and the receiver's list
 * of the room's users is out of date until it asks `presence` again.
 */
export interface PresenceResetData {
  room_id: string;
  joins: number;
  leaves: number;
}

/** `resumed` payload: the rooms whose membership the `resume` restored. */
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

/** Payload type of each built-in frame the server sends, by frame type. */
export interface ServerFrameMap {
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
  presence_reset: PresenceResetData;
  resumed: ResumedData;
  resume_failed: ResumeFailedData;
}

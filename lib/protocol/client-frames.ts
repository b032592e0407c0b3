// The payloads of the built-in messages a client sends (PROTOCOL.md, "Built-in message types"),
// defined once beside the server's frames (server-frames.ts). The built-in handlers read `data`
// as `unknown` and check it field by field (lib/builtins/payload.ts: that is their hot path); these
// types are what that checking accepts, for the client SDK and for the AsyncAPI document, whose
// schemas are checked against them at compile time. Types only: nothing here exists at run time.

/** `auth`: a JWT. */
export interface AuthRequestData {
  token: string;
}

/** `join_room`, `leave_room`, `presence`: the room. */
export interface RoomRequestData {
  room_id: string;
}

/** `chat`: a message to every member of a room the sender has joined. */
export interface ChatRequestData {
  room_id: string;
  content: string;
}

/** `private_message`: to every connection of a user. */
export interface PrivateMessageRequestData {
  target_user_id: string;
  content: string;
}

/** `admin_message`: an announcement to every connection (role `admin`). */
export interface AdminMessageRequestData {
  content: string;
}

/** A position in a room's stream: the last `seq` received, in `epoch`. */
export interface RoomPositionData {
  seq: number;
  epoch: string;
}

/** `resume`: the previous connection's session and the last position seen in each room. */
export interface ResumeRequestData {
  session_id: string;
  rooms: Record<string, RoomPositionData>;
}

/** Payload type of each built-in message a client sends, by message type. */
export interface ClientFrameMap {
  auth: AuthRequestData;
  echo: unknown;
  ping: unknown;
  join_room: RoomRequestData;
  leave_room: RoomRequestData;
  chat: ChatRequestData;
  private_message: PrivateMessageRequestData;
  admin_message: AdminMessageRequestData;
  presence: RoomRequestData;
  resume: ResumeRequestData;
}

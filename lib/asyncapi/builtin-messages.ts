import { MAX_CONTENT_LENGTH } from '../builtins/payload.js';
import type { BuiltinMessageType } from '../interfaces/realtime-options.interface.js';
import type {
  AdminMessageRequestData,
  AuthRequestData,
  ChatRequestData,
  ClientFrameMap,
  PrivateMessageRequestData,
  ResumeRequestData,
  RoomPositionData,
  RoomRequestData,
} from '../protocol/client-frames.js';
import { CloseCode } from '../protocol/close-codes.js';
import { MESSAGE_TYPE_PATTERN } from '../protocol/codec.js';
import { MAX_ID_LENGTH, type ChatMessageData, type ConnectedData, type Envelope } from '../protocol/envelope.js';
import type { ErrorData } from '../protocol/envelope.js';
import { ErrorCode, ErrorFrameType } from '../protocol/error-codes.js';
import { ROOM_ID_PATTERN } from '../protocol/room-id.js';
import type {
  AnnouncementData,
  AuthSuccessData,
  PresenceDiffData,
  PresenceResetData,
  PresenceStateData,
  PresenceUser,
  PrivateMessageData,
  ResumedData,
  ResumeFailedData,
  RoomJoinedData,
  RoomLeftData,
  ServerFrameMap,
} from '../protocol/server-frames.js';
import {
  anyValue,
  arrayOf,
  integer,
  objectOf,
  optional,
  string,
  type FieldSchemas,
  type JsonSchema,
} from './json-schema.js';

// The built-in half of the AsyncAPI document, written by hand in this one file: the built-in
// handlers check their `data` field by field (they take no DTO), and the server's frames are
// TypeScript types. Every object schema below is built with `objectOf<T>()` against the wire
// type it describes (lib/protocol/), so the compiler keeps the two in step; the texts follow
// PROTOCOL.md.

/** What each error code means (PROTOCOL.md, "Errors"), for the `error` frame's description. */
const ERROR_CODES: Record<ErrorCode, string> = {
  BAD_MESSAGE: `not valid JSON, not an object, a missing or invalid \`type\`, or nested too deep`,
  AUTH_REQUIRED: 'a message other than `auth`/`ping` before authentication',
  AUTH_FAILED: '(`auth_error`) a bad, expired or wrongly signed token',
  INSUFFICIENT_PERMISSIONS: '(`authorization_error`) a role the handler requires is missing',
  UNKNOWN_TYPE: 'no handler for the message type',
  BAD_REQUEST: 'a required field missing or of the wrong type (the problems in `details`)',
  NOT_FOUND: 'what the message asked for does not exist',
  NOT_IN_ROOM: '`chat` or `presence` in a room the sender has not joined',
  FORBIDDEN: 'a join refused by the room policy; a `resume` of another user’s session',
  USER_OFFLINE: 'a private message to a user with no connection anywhere',
  INTERNAL: 'the handler failed (no internals are sent)',
  RATE_LIMITED: 'too many messages or bytes per second (sustained: close 1008)',
  TOKEN_EXPIRED: 'the token expired: re-authenticate within the grace period, or close 4001',
  TOO_MANY_CONNECTIONS: '(`auth_error`) the user holds the most connections allowed',
};

function codeTable(): string {
  return [
    '| code | when |',
    '| --- | --- |',
    ...Object.entries(ERROR_CODES).map(([c, when]) => `| \`${c}\` | ${when} |`),
  ].join('\n');
}

/** What each close code means to a client (PROTOCOL.md, "Errors"). */
const CLOSE_CODES: Record<keyof typeof CloseCode, string> = {
  NORMAL: 'closed normally (also: no message within `connectionTimeout`, "idle timeout")',
  GOING_AWAY: 'the endpoint is going away (RFC 6455)',
  UNSUPPORTED_DATA: 'a binary frame: the protocol is JSON text',
  INVALID_PAYLOAD: 'a text frame that is not valid UTF-8 (RFC 6455)',
  POLICY_VIOLATION: 'sustained rate-limit abuse',
  MESSAGE_TOO_BIG: 'a frame larger than `maxMessageSize`',
  INTERNAL_ERROR: 'the server failed (RFC 6455)',
  SERVICE_RESTART: 'the server is draining (a deploy): reconnect, to any node, and `resume`',
  TRY_AGAIN_LATER: 'a slow consumer: the unsent data passed `writeBufferSize`',
  TOKEN_EXPIRED: 'not authenticated in time (`authTimeout`), or the token expired and no new `auth` came',
  KICKED: 'closed by the server (e.g. the user was banned): do not reconnect automatically',
};

/** The WebSocket close codes, as a Markdown table for the channel's description. */
export function closeCodeTable(): string {
  return [
    '| close code | meaning |',
    '| --- | --- |',
    ...Object.entries(CLOSE_CODES).map(
      ([name, meaning]) => `| ${CloseCode[name as keyof typeof CloseCode]} | ${meaning} |`,
    ),
  ].join('\n');
}

/** A reference to one of the shared schemas below (`components.schemas`). */
export const ref = (name: SharedSchemaName): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

const roomId = (description = 'The room.'): JsonSchema => ({ ...ref('realtime.RoomId'), description });

const presenceUser = objectOf<PresenceUser>({
  user_id: string(),
  username: string(),
  connections: optional(integer("The user's connections in the room (in `presence_state` only)", { minimum: 1 })),
});

const roomPosition = objectOf<RoomPositionData>({
  seq: integer('The last `seq` received from the room.', { minimum: 0 }),
  epoch: string('The `epoch` it came with.', { minLength: 1, maxLength: 64 }),
});

/**
 * Schemas the messages share, under `components.schemas`. Their names have a dot, which a
 * class name (the name of a payload DTO's schema) cannot have: the two never collide.
 */
export const SHARED_SCHEMAS = {
  'realtime.MessageType': string('A message type: 1..64 characters of `[A-Za-z0-9_.:-]`.', {
    pattern: MESSAGE_TYPE_PATTERN.source,
  }),
  'realtime.RequestId': {
    description:
      'A request id chosen by the client: every reply or error caused by the message repeats it ' +
      '(broadcasts the message causes do not).',
    oneOf: [{ type: 'string', maxLength: MAX_ID_LENGTH }, { type: 'integer' }],
  },
  'realtime.RoomId': string('A room id: 1..128 characters of `[A-Za-z0-9_.:@#/-]`.', {
    pattern: ROOM_ID_PATTERN.source,
  }),
  'realtime.Seq': integer(
    "The room's sequence number: its broadcasts are numbered 1, 2, 3, … without gaps, cluster-wide.",
    { minimum: 0 },
  ),
  'realtime.Epoch': string(
    "Changes whenever the room's history was lost (the count started over): a position in another " +
      'epoch means nothing any more.',
  ),
  'realtime.Timestamp': string('When the server sent the frame (ISO-8601).', { format: 'date-time' }),
  'realtime.ErrorData': objectOf<ErrorData>({
    code: string('What went wrong: one of the codes of PROTOCOL.md ("Errors"), or an application\'s own.', {
      examples: Object.values(ErrorCode),
    }),
    message: string('For people; never internals.'),
    details: optional(anyValue('More, e.g. the problems a `ValidationPipe` found.')),
  }),
  'realtime.PresenceUser': presenceUser,
} satisfies Record<string, JsonSchema>;

export type SharedSchemaName = keyof typeof SHARED_SCHEMAS;

/**
 * The envelope's fields (PROTOCOL.md, "Envelope"), checked against {@link Envelope}; a message's
 * payload picks from them.
 */
export const ENVELOPE_FIELDS = {
  type: ref('realtime.MessageType'),
  id: optional(ref('realtime.RequestId')),
  to: optional(string('Optional addressing, carried through untouched.')),
  room: optional(ref('realtime.RoomId')),
  data: optional(anyValue('The payload.')),
  timestamp: optional(ref('realtime.Timestamp')),
  metadata: optional({ type: 'object', description: 'Optional metadata of the message.' }),
  seq: optional(ref('realtime.Seq')),
  epoch: optional(ref('realtime.Epoch')),
} satisfies FieldSchemas<Envelope>;

/** What the document says about a frame the server sends. */
export interface ServerFrameDoc {
  summary: string;
  description?: string;
  /** Schema of `data`; `undefined`: the frame has none. */
  data: JsonSchema | undefined;
  /** A room broadcast: the envelope carries `room`, `seq` and `epoch`. */
  roomBroadcast?: boolean;
  example?: unknown;
}

const ERROR_FRAME_TEXT =
  'Unless the situation closes the connection, it stays open and other clients are unaffected. ' +
  'Carries the `id` of the message that caused it.';

/** Every built-in frame the server sends, by type. */
export const SERVER_FRAMES: { [T in keyof ServerFrameMap]: ServerFrameDoc } = {
  connected: {
    summary: 'The first frame on every connection.',
    description:
      'Names the connection (`client_id`) and its session (`session_id`, what a later `resume` ' +
      'names). When the connection was authenticated at the handshake (a JWT in ' +
      '`Authorization: Bearer` or `?token=`), `auth_success` follows at once.',
    data: objectOf<ConnectedData>({
      client_id: string('This connection.'),
      session_id: string("This connection's session: after a reconnect, `resume` names it."),
      node_id: string('The server node the connection is on.'),
      heartbeat_ms: integer('How often the server pings (WebSocket pings), in milliseconds.', { minimum: 0 }),
    }),
  },
  auth_success: {
    summary: 'Who the connection is now.',
    description: 'The reply to `auth`, or sent after `connected` when a handshake token authenticated the connection.',
    data: objectOf<AuthSuccessData>({
      user_id: string(),
      username: string(),
      roles: arrayOf(string(), 'The role `admin` satisfies every role requirement.'),
    }),
  },
  auth_error: {
    summary: 'Authentication refused.',
    description:
      `${ERROR_FRAME_TEXT} Codes: \`AUTH_FAILED\` (a bad, expired or wrongly signed token; never ` +
      'why), `TOO_MANY_CONNECTIONS` (the user holds the most connections allowed), `FORBIDDEN` ' +
      '(the connection guards refuse the new identity; the connection keeps its old one).',
    data: ref('realtime.ErrorData'),
  },
  authorization_error: {
    summary: 'Authenticated, but without a role the handler requires.',
    description: `${ERROR_FRAME_TEXT} Code: \`INSUFFICIENT_PERMISSIONS\`.`,
    data: ref('realtime.ErrorData'),
  },
  error: {
    summary: 'A message was refused or failed.',
    description: `${ERROR_FRAME_TEXT} \`data.code\` says why:\n\n${codeTable()}`,
    data: ref('realtime.ErrorData'),
  },
  echo_response: { summary: 'The `data` of the `echo`, unchanged.', data: anyValue() },
  pong: { summary: 'The answer to `ping`.', data: undefined },
  room_joined: {
    summary: 'The connection is a member of the room.',
    description:
      "`seq`/`epoch` are the room's position at the join: the first broadcast this member gets is `seq + 1`.",
    data: objectOf<RoomJoinedData>({
      room_id: roomId(),
      client_count: integer("The room's connections on this node.", { minimum: 1 }),
      seq: optional(ref('realtime.Seq')),
      epoch: optional(ref('realtime.Epoch')),
    }),
  },
  room_left: {
    summary: 'The connection is no longer a member of the room.',
    description:
      'The reply to `leave_room`; or sent by the server with a `reason` when it ended the ' +
      'membership: `forbidden` (the join policy refuses the connection after a new `auth`, or ' +
      'a room of a `resume`) or `error` (the policy failed).',
    data: objectOf<RoomLeftData>({
      room_id: roomId(),
      reason: optional({ type: 'string', enum: ['forbidden', 'error'] }),
    }),
  },
  chat_message: {
    summary: 'A chat message, to every member of the room on every node (the sender included).',
    description: 'The sender is the authenticated connection, never fields of the message.',
    roomBroadcast: true,
    data: objectOf<ChatMessageData>({
      room_id: roomId(),
      user_id: string('The sender.'),
      username: string(),
      content: string(),
      timestamp: ref('realtime.Timestamp'),
    }),
  },
  private_message: {
    summary: 'A private message, to every connection of its target user on every node.',
    data: objectOf<PrivateMessageData>({
      from_user_id: string('The sender (the authenticated connection).'),
      from_username: string(),
      content: string(),
      timestamp: ref('realtime.Timestamp'),
    }),
  },
  announcement: {
    summary: 'An announcement by an admin, to every connection on every node.',
    data: objectOf<AnnouncementData>({
      content: string(),
      from_user_id: string('The admin who sent it.'),
      timestamp: ref('realtime.Timestamp'),
    }),
  },
  presence_state: {
    summary: "The room's users, cluster-wide, with their connection counts.",
    data: objectOf<PresenceStateData>({ room_id: roomId(), users: arrayOf(ref('realtime.PresenceUser')) }),
  },
  presence_diff: {
    summary: 'Users (not tabs) that arrived in or left the room, to its members.',
    description:
      'Presence is not history: it carries no `seq` and is never replayed. Off per room. One frame ' +
      "per change, at once, while the room's diffs cost a node at most `presenceDiffLimit` frames " +
      'within `presenceDiffInterval`; beyond that (always in a room above that many members) one ' +
      'frame per window with the changes gathered meanwhile, at most one entry per user (its ' +
      'latest change): apply it as set operations.',
    data: objectOf<PresenceDiffData>({
      room_id: roomId(),
      joins: arrayOf(ref('realtime.PresenceUser')),
      leaves: arrayOf(ref('realtime.PresenceUser')),
    }),
  },
  presence_reset: {
    summary: 'More users arrived in or left the room within one window than a `presence_diff` lists: counts only.',
    description:
      "Sent instead of a gathered `presence_diff` with more than the room's `presenceDiffMaxUsers` users. " +
      "The receiver's list of the room's users is out of date until it asks `presence` again.",
    data: objectOf<PresenceResetData>({
      room_id: roomId(),
      joins: integer('Users whose latest change in the window was an arrival.', { minimum: 0 }),
      leaves: integer('Users whose latest change in the window was a departure.', { minimum: 0 }),
    }),
  },
  resumed: {
    summary: 'The rooms whose membership a `resume` restored.',
    description: "Then come each room's missed broadcasts in `seq` order, then live traffic: no gap, no duplicate.",
    data: objectOf<ResumedData>({ rooms: arrayOf(roomId('A room rejoined.')) }),
  },
  resume_failed: {
    summary: 'A room of a `resume` cannot be replayed; its membership is still restored.',
    description:
      '`reason`: `history_expired` (the history no longer reaches back), `epoch_changed` (the ' +
      'history was lost) or `unavailable`. `seq`/`epoch` are the position to go on from.',
    data: objectOf<ResumeFailedData>({
      room_id: roomId(),
      reason: string(undefined, { examples: ['history_expired', 'epoch_changed', 'unavailable'] }),
      seq: optional(ref('realtime.Seq')),
      epoch: optional(ref('realtime.Epoch')),
    }),
  },
};

/** What the document says about a built-in message a client sends. */
export interface BuiltinMessageDoc {
  summary: string;
  description?: string;
  /** Schema of `data`; `undefined`: the message needs none. */
  data: JsonSchema | undefined;
  example?: unknown;
  /** Frames sent to the sender only, repeating the message's `id`, besides error frames. */
  replies: readonly (keyof ServerFrameMap)[];
  /** Frames the message causes to others (or to the sender as a member), without its `id`. */
  causes: readonly (keyof ServerFrameMap)[];
  /** Error frames besides `error`. */
  errors: readonly ErrorFrameType[];
}

const content = string(undefined, { minLength: 1, maxLength: MAX_CONTENT_LENGTH });
const roomRequest = objectOf<RoomRequestData>({ room_id: roomId() });

/** Every built-in message a client sends, by type (the keys of the `builtins` option). */
export const BUILTIN_MESSAGES: { [T in BuiltinMessageType]: BuiltinMessageDoc } = {
  auth: {
    summary: 'Authenticate, or re-authenticate as the same or another user.',
    description:
      'Needs no authentication itself. Re-authenticating as someone else re-runs the connection ' +
      "guards and checks each room's join policy again. Without a handshake token, it is due " +
      'within `authTimeout` of connecting when authentication is required (close 4001 otherwise).',
    data: objectOf<AuthRequestData>({ token: string('A JWT.', { minLength: 1 }) }),
    replies: ['auth_success'],
    causes: [],
    errors: [ErrorFrameType.AUTH_ERROR],
  },
  ping: {
    summary: 'Check the connection at the application level (no authentication needed).',
    data: undefined,
    replies: ['pong'],
    causes: [],
    errors: [],
  },
  echo: {
    summary: 'Get the `data` back.',
    data: anyValue('Anything.'),
    replies: ['echo_response'],
    causes: [],
    errors: [],
  },
  join_room: {
    summary: 'Join a room.',
    description:
      'Refused with `FORBIDDEN` by the join policy or guards, or past `maxRoomsPerConnection`. ' +
      'The members get `presence_diff` (or, in a storm, `presence_reset`) when a new user (not ' +
      'another tab) arrives.',
    data: roomRequest,
    example: { room_id: 'general' },
    replies: ['room_joined'],
    causes: ['presence_diff', 'presence_reset'],
    errors: [],
  },
  leave_room: {
    summary: 'Leave a room.',
    data: roomRequest,
    replies: ['room_left'],
    causes: ['presence_diff', 'presence_reset'],
    errors: [],
  },
  chat: {
    summary: 'Send a chat message to a room the sender has joined (`NOT_IN_ROOM` otherwise).',
    description: 'No reply: the sender, a member, gets the `chat_message` broadcast like everyone else.',
    data: objectOf<ChatRequestData>({ room_id: roomId(), content }),
    example: { room_id: 'general', content: 'hello' },
    replies: [],
    causes: ['chat_message'],
    errors: [],
  },
  presence: {
    summary: "Ask for a room's users, cluster-wide (the sender must be a member).",
    data: roomRequest,
    replies: ['presence_state'],
    causes: [],
    errors: [],
  },
  private_message: {
    summary: 'Send a message to every connection of a user (`USER_OFFLINE` if none, anywhere).',
    data: objectOf<PrivateMessageRequestData>({
      target_user_id: string(undefined, { minLength: 1, maxLength: 256 }),
      content,
    }),
    replies: [],
    causes: ['private_message'],
    errors: [],
  },
  admin_message: {
    summary: 'Announce something to every connection on every node (role `admin`).',
    data: objectOf<AdminMessageRequestData>({ content }),
    replies: [],
    causes: ['announcement'],
    errors: [ErrorFrameType.AUTHORIZATION_ERROR],
  },
  resume: {
    summary: "After a reconnect (to any node): rejoin the previous session's rooms and get what was missed.",
    description:
      'Send it after authenticating. The rooms are rejoined (the join policy is asked again), ' +
      "`resumed` lists them, then each room's missed broadcasts follow in `seq` order, then live " +
      'traffic. A room that cannot be replayed gets `resume_failed`; one the policy now refuses, ' +
      '`room_left` with a reason; a session of another user, `error FORBIDDEN`; more rooms than ' +
      '`resume.maxRooms`, `error BAD_REQUEST`.',
    data: objectOf<ResumeRequestData>({
      session_id: string('`connected.session_id` of the previous connection.', { minLength: 1, maxLength: 128 }),
      rooms: {
        type: 'object',
        description: 'The last position seen in each room, by room id.',
        propertyNames: ref('realtime.RoomId'),
        additionalProperties: roomPosition,
      },
    }),
    example: { session_id: 's-4f1c…', rooms: { general: { seq: 41, epoch: 'Zk3…' } } },
    replies: ['resumed', 'resume_failed', 'room_left'],
    causes: [],
    errors: [],
  },
};

// The built-in messages are exactly the client frames of lib/protocol/client-frames.ts.
const sameTypes: [BuiltinMessageType, keyof ClientFrameMap] extends [keyof ClientFrameMap, BuiltinMessageType]
  ? true
  : never = true;
void sameTypes;

/** Sent before any message: the handshake and the first frame. */
export const CONNECTION_FLOW =
  'Connect with a WebSocket upgrade, optionally authenticated by a JWT in `Authorization: Bearer ' +
  '<jwt>` or `?token=<jwt>` (a bad token: HTTP 401 before the upgrade). The server sends ' +
  '`connected` first, then `auth_success` if the handshake authenticated the connection; ' +
  'otherwise the client sends `auth`. Every frame is one JSON envelope ' +
  '`{ type, id?, data?, … }` per text frame. A connection’s messages are handled one at a time, ' +
  'in order: a client may send `auth`, `join_room` and `chat` back to back. Every room broadcast ' +
  'carries `room`, `seq` (gap-free per room, cluster-wide) and `epoch`; after a reconnect, ' +
  '`resume` replays what was missed.';

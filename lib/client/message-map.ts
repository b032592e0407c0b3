import type { ChatMessageData, Envelope } from '../protocol/envelope.js';
import type { ServerFrameMap } from '../protocol/server-frames.js';

// The payload types of the server's frames are the protocol's (lib/protocol/server-frames.ts),
// shared with the server that builds them; re-exported here under the client's public names.
export type {
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
} from '../protocol/server-frames.js';

/** `chat_message` payload: one definition, shared with the server. */
export type { ChatMessageData };

/**
 * What {@link RealtimeClient.request} resolves with: the reply's envelope, whose `data` is the
 * reply's payload as the caller typed it (a reply without `data` gives `undefined`, which only a
 * type that allows it should claim).
 */
export interface Reply<TData = unknown> extends Envelope<TData> {
  data: TData;
}

/**
 * Payloads of the built-in frames the server sends (PROTOCOL.md, "Built-in message types"). An
 * interface, not an alias, so that an app can add its own frame types by declaration merging.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- an interface to merge into
export interface ServerMessageMap extends ServerFrameMap {}

/** The payload type of frame `T`: typed for the built-ins, `unknown` for an app's own types. */
export type MessageData<T extends string> = T extends keyof ServerMessageMap ? ServerMessageMap[T] : unknown;

/** A handler of frames of type `T`: the payload and the whole envelope. */
export type MessageHandler<T extends string> = (data: MessageData<T>, envelope: Envelope<MessageData<T>>) => void;

/** `resume`'s payload (client → server): the protocol's one definition. */
export type { ResumeRequestData } from '../protocol/client-frames.js';

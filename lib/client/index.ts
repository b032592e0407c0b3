/**
 * `nest-realtime/client`: the client for browsers and Node. It imports nothing from Node, so
 * it bundles for the browser as is; in Node 20 pass `WebSocket` from `ws`.
 */
export { RealtimeClient } from './realtime-client.js';
export type { RealtimeClientOptions, RequestOptions } from './client-options.js';
export type { BackoffOptions } from './backoff.js';
export type { DrainReconnectOptions } from './drain-delay.js';
export type { HeartbeatOptions } from './heartbeat.js';
export type { TokenOption } from './token-source.js';
export type { WebSocketConstructor, WebSocketLike } from './transport.js';
export type { ClientEventHandler, ClientEventMap, ClientEventName, ClientState } from './client-events.js';
export type {
  AnnouncementData,
  AuthSuccessData,
  ChatMessageData,
  MessageData,
  MessageHandler,
  PresenceDiffData,
  PresenceResetData,
  PresenceStateData,
  PresenceUser,
  PrivateMessageData,
  Reply,
  ResumedData,
  ResumeFailedData,
  RoomJoinedData,
  RoomLeftData,
  ServerMessageMap,
} from './message-map.js';
export type { RoomPosition } from './room-positions.js';
export type { ConnectedData, Envelope, ErrorData } from '../protocol/envelope.js';
export {
  AuthenticationError,
  ClientClosedError,
  ConnectionLostError,
  MalformedFrameError,
  OfflineQueueFullError,
  RealtimeRequestError,
  RequestTimeoutError,
  TokenProviderError,
} from './client-errors.js';

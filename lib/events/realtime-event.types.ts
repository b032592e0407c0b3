import type { RealtimeUser } from '../interfaces/realtime-user.interface.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import type { Envelope } from '../protocol/envelope.js';

/** Payloads of the lifecycle events, by event name. */
export interface RealtimeEventMap {
  /** A connection opened (after `connected` was sent). */
  'connection.opened': { connection: RealtimeConnection };
  /** A connection closed, for whatever reason; `code` is the WebSocket close code. */
  'connection.closed': { connection: RealtimeConnection; code: number; reason: string };
  /** A connection authenticated (handshake token or `auth` message), possibly as another user. */
  'connection.authenticated': { connection: RealtimeConnection; user: RealtimeUser; previousUserId?: string };
  /** A connection joined a room. */
  'room.joined': { connection: RealtimeConnection; roomId: string; clientCount: number };
  /** A connection left a room (by request, on disconnect, or refused after re-authentication). */
  'room.left': { connection: RealtimeConnection; roomId: string; reason: 'leave' | 'disconnect' | 'policy' | 'kick' };
  /** A valid message arrived and was routed to a handler. */
  'message.received': { connection: RealtimeConnection; message: Envelope };
  /** A message was refused (malformed, unknown type, rate limited, or its handler failed). */
  'message.rejected': { connection: RealtimeConnection; type: string | undefined; code: string };
}

export type RealtimeEventName = keyof RealtimeEventMap;

/** One event as it travels through `EventPublisher.events$`. */
export type RealtimeEvent = {
  [K in RealtimeEventName]: { name: K; payload: RealtimeEventMap[K] };
}[RealtimeEventName];

export const REALTIME_EVENT_NAMES: readonly RealtimeEventName[] = [
  'connection.opened',
  'connection.closed',
  'connection.authenticated',
  'room.joined',
  'room.left',
  'message.received',
  'message.rejected',
];

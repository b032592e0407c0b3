import type { ResumeFailedData } from './message-map.js';

/** The client's connection state. */
export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The client's own events (not frames), with their payloads. */
export interface ClientEventMap {
  /** A connection attempt starts (`attempt` 0 for the first, then the retry number). */
  connecting: { attempt: number };
  /** Authenticated, rooms restored and the offline queue flushed: ready. */
  open: { client_id: string; session_id: string; node_id: string; reconnects: number };
  /** The connection was lost; the next attempt starts after `delay` ms. */
  reconnecting: { attempt: number; delay: number; code: number; reason: string };
  /** Closed for good: `disconnect()`, a "do not retry" close, or retries exhausted. */
  closed: { code: number; reason: string };
  /** Something went wrong that no promise reports (malformed frame, handler threw, auth failed). */
  error: { error: Error };
  /** A room could not be resumed without loss: reload its state (history, members). */
  resume_failed: ResumeFailedData;
}

export type ClientEventName = keyof ClientEventMap;
export type ClientEventHandler<E extends ClientEventName> = (event: ClientEventMap[E]) => void;

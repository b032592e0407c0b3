import type { BackoffOptions } from './backoff.js';
import type { DrainReconnectOptions } from './drain-delay.js';
import type { HeartbeatOptions } from './heartbeat.js';
import type { TokenOption } from './token-source.js';
import type { WebSocketConstructor } from './transport.js';

/** Options of {@link RealtimeClient}. */
export interface RealtimeClientOptions {
  /**
   * The endpoint, e.g. `wss://chat.example.com/ws`; or a function called for every connection
   * attempt, to pick a node (after a 1012 drain, "reconnect to any node").
   */
  url: string | (() => string);
  /**
   * The WebSocket implementation. @default `globalThis.WebSocket` (browsers; Node ≥ 22).
   * In Node 20 pass `WebSocket` from `ws`.
   */
  WebSocket?: WebSocketConstructor;
  /**
   * A token, or a function returning a fresh one: called on every (re)connect and shortly
   * before the current token's `exp`. Without it the client stays anonymous.
   */
  token?: TokenOption;
  /** Reconnect pacing, or `false` for no automatic reconnect. @default `{ baseDelay: 500, maxDelay: 30000 }`, forever */
  reconnect?: BackoffOptions | false;
  /**
   * Default timeout of {@link RealtimeClient.request}, and of the client's own auth/resume/join.
   * Like every deadline of the client, it does not count a stall of its own against the server:
   * a timer that fires late (a stalled event loop, a throttled background tab) first lets the
   * frames that arrived meanwhile be read, so a reply waiting unread is not timed out.
   * @default 10 000 ms
   */
  requestTimeout?: number;
  /**
   * A connection attempt that has not received `connected` by then is given up and retried (a
   * late timer first reads what arrived, see {@link requestTimeout}). After an attempt given up
   * for a deadline (this one, or the handshake's `requestTimeout`), the next attempt's deadlines
   * are twice as long, up to 8 ×, until an attempt opens: a server busy with a herd of
   * reconnects is given time to answer instead of a second copy of each attempt.
   * @default 10 000 ms
   */
  connectTimeout?: number;
  /** Messages kept while offline, sent once the connection is authenticated again. @default 100 */
  offlineQueueSize?: number;
  /**
   * App-level ping/pong dead-connection detection, or `false` (a late check first reads what
   * arrived, see {@link requestTimeout}). @default `{ interval: 25000, timeout: 10000 }`
   */
  heartbeat?: HeartbeatOptions | false;
  /** A provided token is refreshed this long before its `exp`. @default 30 000 ms */
  tokenRefreshMargin?: number;
  /**
   * How long a call of the token provider may take; one that throws, returns no token or takes
   * longer fails the attempt, which is retried with the backoff (only a token the server
   * refuses stops the client). A late timer first reads what arrived (see {@link requestTimeout}).
   * @default 10 000 ms
   */
  tokenTimeout?: number;
  /**
   * How long a connection must stay open before the backoff starts over and a `1012` (drain)
   * gets the {@link drainReconnect} wait instead: a server that accepts and then drops every
   * connection still gets the growing delays. @default 5 000 ms
   */
  stableConnectionTime?: number;
  /**
   * The wait before reconnecting after a `1012` close (restart or drain) of a working
   * connection: uniformly random in `[minDelay, maxDelay]`, so the clients of a drained node
   * spread over the window instead of landing on the other nodes all at once. Other close codes
   * use {@link reconnect}. `{ minDelay: 0, maxDelay: 0 }` reconnects at once.
   * @default `{ minDelay: 1000, maxDelay: 5000 }`
   */
  drainReconnect?: DrainReconnectOptions;
  /** Random source in [0, 1) for the backoff and drain jitter (tests inject one). @default Math.random */
  random?: () => number;
}

/** Options of one {@link RealtimeClient.request}. */
export interface RequestOptions {
  /** @default the client's `requestTimeout` */
  timeout?: number;
}

export const CLIENT_DEFAULTS = {
  requestTimeout: 10_000,
  connectTimeout: 10_000,
  offlineQueueSize: 100,
  tokenRefreshMargin: 30_000,
  tokenTimeout: 10_000,
  stableConnectionTime: 5_000,
} as const;

/** Checks a timeout option: a positive number of milliseconds. */
export function positiveMs(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value))
    throw new RangeError(`${name} must be a positive number of ms (got ${value})`);
  return value;
}

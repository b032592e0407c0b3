import type { KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { CanActivate, Type } from '@nestjs/common';
import type { ResolvedRoomSettings, RoomSettings } from '../options/room-settings.js';
import type { ClusterAdapterLike } from './cluster-adapter-like.interface.js';
import type { TrustProxy, TrustProxyPredicate } from '../options/trust-proxy.js';

/** Message types handled by the module itself; each can be switched off or replaced. */
export type BuiltinMessageType =
  | 'echo'
  | 'ping'
  | 'auth'
  | 'join_room'
  | 'leave_room'
  | 'chat'
  | 'private_message'
  | 'admin_message'
  | 'presence'
  | 'resume';

/** JWT algorithms accepted by the default token validator. */
export type JwtAlgorithm =
  'HS256' | 'HS384' | 'HS512' | 'RS256' | 'RS384' | 'RS512' | 'ES256' | 'ES384' | 'ES512' | 'PS256';

/** Authentication settings (PROTOCOL.md, "Tokens"). */
export interface RealtimeAuthOptions {
  /**
   * HMAC secret for HS256 tokens (or a secret `KeyObject`). Give this or `publicKey` (or a custom
   * `tokenValidator`). Made into a `KeyObject` once, at start-up.
   */
  secret?: string | Buffer | KeyObject;
  /** PEM public key or certificate for RS256 / ES256 tokens (or a public `KeyObject`), parsed once at start-up. */
  publicKey?: string | Buffer | KeyObject;
  /**
   * Accepted algorithms.
   * @default ['HS256'] with `secret`, ['RS256', 'ES256'] with `publicKey`
   */
  algorithms?: readonly JwtAlgorithm[];
  /** Required `iss` claim, if any. */
  issuer?: string;
  /** Required `aud` claim, if any. */
  audience?: string;
  /**
   * Seconds of clock skew tolerated on `exp` and `nbf`.
   * @default 0
   */
  clockToleranceSeconds?: number;
  /**
   * Refuse tokens without `exp` (a token without expiry could never be cut off).
   * @default true
   */
  requireExpiration?: boolean;
  /**
   * Every message except `auth` and `ping` (and `@Public()` handlers) needs an authenticated
   * connection; `false` lets anonymous connections use every handler that has no `@RequireRoles`.
   * @default true
   */
  required?: boolean;
  /**
   * Milliseconds a connection whose token expired gets to send a fresh `auth` after the
   * `TOKEN_EXPIRED` error, before it is closed with 4001.
   * @default 30000
   */
  expiryGracePeriod?: number;
}

/**
 * Per-connection rate limit: two token buckets, one counting messages and one counting bytes.
 * A frame either bucket cannot pay for is answered `RATE_LIMITED` without being parsed; refusals
 * of either kind count toward `disconnectAfter`.
 */
export interface RealtimeRateLimitOptions {
  /**
   * Refill rate: messages per second.
   * @default 100
   */
  messagesPerSecond?: number;
  /**
   * Bucket size: messages accepted in a burst.
   * @default 200
   */
  burst?: number;
  /**
   * Messages refused in a row (each answered `RATE_LIMITED`) after which the connection is
   * closed with 1008; 0 never closes.
   * @default 100
   */
  disconnectAfter?: number;
  /**
   * Refill rate of the byte bucket: inbound frame bytes per second, counted before parsing (a
   * frame's parse and handling cost grows with its size, which the message count does not see:
   * 1 MiB frames at 100 messages/s would be 100 MiB/s of JSON). 0 turns the byte limit off.
   *
   * 1 MiB/s sustained is far above chat traffic (100 messages/s of 10 KiB each), while it caps
   * what one connection makes the node parse at about 1 MiB of JSON per second.
   * @default 1048576 (1 MiB/s)
   */
  bytesPerSecond?: number;
  /**
   * Size of the byte bucket: bytes accepted in a burst. Must be at least `maxMessageSize`, or a
   * frame of the largest allowed size would never be accepted. Two largest frames back to back
   * pass (an upload and its retry), after which large frames are paced at `bytesPerSecond`.
   * @default 2 × maxMessageSize (2 MiB)
   */
  byteBurst?: number;
}

/** Node-wide bounds of room history and of its replay on `resume`. */
export interface RealtimeHistoryOptions {
  /**
   * Bytes of room history (frames as sent, all rooms together, with the compressed twins made
   * for `compression`) this node keeps at most; past it
   * the oldest entries of the least recently written rooms are evicted
   * (`websocket_history_evicted_total{reason="node_bytes"}`), and a client that missed them gets
   * `resume_failed history_expired`. Each room is also capped by its `historyMaxBytes`.
   * @default 67108864 (64 MiB)
   */
  maxBytes?: number;
  /**
   * Room replays (one room of one `resume`) running at once on this node; more wait their turn.
   * A connection replays its rooms one at a time.
   * @default 16
   */
  maxConcurrentReplays?: number;
  /**
   * Bytes of history read from the cluster (Redis) per call during a replay: the next chunk is
   * read only once the connection has written the previous one out (its outbound buffer below
   * half of `writeBufferSize`), so a replay holds about one chunk in memory and never stalls
   * Redis with one huge read.
   * @default 262144 (256 KiB)
   */
  replayChunkBytes?: number;
}

/** Bounds of one `resume` message. */
export interface RealtimeResumeOptions {
  /**
   * Rooms one `resume` may name (never more than `maxRoomsPerConnection`); more is
   * `error BAD_REQUEST` and nothing is resumed.
   * @default 100
   */
  maxRooms?: number;
}

/** Decides whether a browser `Origin` may open a connection. */
export type OriginPredicate = (origin: string | undefined, request: IncomingMessage) => boolean;

/**
 * Options of `RealtimeModule.forRoot()` / `forRootAsync()`. Every limit has a documented
 * default; a contradictory or out-of-range value fails start-up with a message naming the option.
 */
/**
 * `permessage-deflate` (RFC 7692), off by default. When on, the server accepts the extension
 * with `server_no_context_takeover` and `client_no_context_takeover`, so every message is
 * compressed on its own and any peer can inflate it: a room broadcast is deflated once and the
 * same compressed frame goes to every member that negotiated it (the others get the
 * uncompressed frame); replies and direct frames are deflated for their one recipient. An
 * inbound compressed message may inflate to at most `maxMessageSize` (beyond: close 1009).
 */
export interface RealtimeCompressionOptions {
  /**
   * Negotiate and use `permessage-deflate`.
   * @default false
   */
  enabled?: boolean;
  /**
   * Messages below this many bytes are sent uncompressed (deflate gains little on small
   * messages and costs CPU on every one).
   * @default 1024
   */
  threshold?: number;
  /**
   * zlib compression level, 1 (fastest) to 9 (smallest).
   * @default 6
   */
  level?: number;
}

export interface RealtimeModuleOptions {
  /**
   * URL path of the WebSocket endpoint on the app's HTTP server.
   * @default '/ws'
   */
  path?: string;
  /**
   * This node's id in a cluster, sent in `connected.node_id`.
   * @default a random id
   */
  nodeId?: string;
  /**
   * Browser origins allowed to connect: an allow-list (exact `scheme://host[:port]` strings, or
   * `'*'`) or a predicate. Requests without an `Origin` header (non-browser clients) are allowed
   * by an allow-list. A refused origin gets HTTP 403 at the upgrade.
   * @default undefined (any origin)
   */
  allowedOrigins?: readonly string[] | OriginPredicate;
  /**
   * Live connections this node accepts; the next upgrade gets HTTP 503.
   * @default 10000
   */
  maxConnections?: number;
  /**
   * Milliseconds of event-loop lag above which this node sheds new connections: while its loop
   * stays later than this (two late ticks of a fine timer in a row, or a turn whose work has run
   * past it — not one pause the loop recovered from, such as a GC), an upgrade gets HTTP 503 with
   * `Retry-After` (counted in
   * `websocket_connection_errors_total{reason="overloaded"}`) and the client tries again after
   * its backoff, on this node or another. The connections already open are served as usual.
   * Without it, a herd of reconnects (a node drained under load) is accepted all at once; their
   * handshakes and resumes queue behind each other until clients give up on them and retry,
   * and the work done for the abandoned attempts is lost. 0 turns it off.
   * @default 0
   */
  maxEventLoopDelay?: number;
  /**
   * Largest inbound frame in bytes; a larger one closes the connection with 1009.
   * @default 1048576 (1 MiB)
   */
  maxMessageSize?: number;
  /**
   * Deepest nesting of objects/arrays accepted in an inbound message (the envelope is level 1,
   * its `data` level 2). Checked on the raw text before parsing, so a deeply nested frame is
   * answered `BAD_MESSAGE` before the parser, validators or handlers recurse into it.
   * @default 32
   */
  maxJsonDepth?: number;
  /**
   * Milliseconds an upgrade may take from the HTTP request to the open socket (including
   * asynchronous admission checks); after it the request gets HTTP 408.
   * @default 10000
   */
  handshakeTimeout?: number;
  /**
   * Milliseconds between protocol-level pings: a connection is pinged this long after its
   * previous ping was answered. Also sent to clients as `connected.heartbeat_ms`.
   * @default 25000
   */
  pingInterval?: number;
  /**
   * Milliseconds a peer has to answer a ping, counted from that ping being written out to its
   * socket; a connection whose ping goes unanswered this long is considered dead and terminated
   * (counted in `websocket_heartbeat_timeouts_total`). A pass of the node's heartbeat timer that
   * runs late (a starved event loop) does not count the delay against the peers, nor does a ping
   * queued behind frames a slow peer is still reading (such a peer that stops reading is closed
   * by `writeTimeout`; with `writeTimeout` 0 the ping counts from when it was queued).
   * @default 20000
   */
  pongTimeout?: number;
  /**
   * Milliseconds without any inbound frame (messages or pongs) after which a connection is
   * terminated; 0 disables it (heartbeats already catch dead peers).
   * @default 0
   */
  readTimeout?: number;
  /**
   * Milliseconds a connection's outbound buffer may stay non-empty without draining any of it;
   * after it the reader is treated as stuck and the connection is closed with 1013. 0 disables it.
   * @default 30000
   */
  writeTimeout?: number;
  /**
   * Milliseconds a connection may stay without sending a message (pongs do not count) before it
   * is closed with 1000 ("idle timeout"); 0 disables it.
   * @default 0
   */
  connectionTimeout?: number;
  /**
   * When authentication is required (`auth` set, `auth.required` not false): milliseconds a
   * connection may stay without authenticating (at the handshake or by an `auth` message) before
   * it is closed with 4001 ("authentication timeout"), so that anonymous sockets cannot hold the
   * connection slots. Checked about once a second. 0 disables it.
   * @default 10000
   */
  authTimeout?: number;
  /**
   * Milliseconds between cleanup passes (idle, read and write timeouts, stale registry entries).
   * @default 30000
   */
  cleanupInterval?: number;
  /**
   * Inbound backlog per connection, in bytes of messages whose handlers have not finished; above
   * it the socket is paused (TCP backpressure) until handlers catch up.
   * @default 1048576 (1 MiB)
   */
  readBufferSize?: number;
  /**
   * Outbound buffer per connection, in bytes the socket has not yet written; a reader that falls
   * this far behind is a slow consumer and is closed with 1013.
   * @default 4194304 (4 MiB)
   */
  writeBufferSize?: number;
  /**
   * `permessage-deflate` for clients that offer it (browsers do): `true` for the defaults, or
   * the settings. Off by default.
   * @default { enabled: false, threshold: 1024, level: 6 }
   */
  compression?: RealtimeCompressionOptions | boolean;
  /**
   * Milliseconds a connection's outbound frames may wait to be written together. The frames sent
   * to a connection within one turn of the event loop always leave in one socket write; above 0,
   * a node also batches across turns for up to this long — fewer writes (less CPU per delivery
   * on a busy node) for up to this much more latency, like Centrifugo's write delay. At most 1000.
   * @default 0
   */
  writeDelay?: number;
  /**
   * Milliseconds connections get to close after the 1012 ("service restart") sent at shutdown,
   * before the remaining ones are terminated.
   * @default 5000
   */
  shutdownTimeout?: number;
  /**
   * Milliseconds between the start of shutdown and the 1012s. During them the node already
   * refuses upgrades (503) and reports itself not ready (`RealtimeHealth`: `draining`; the
   * Terminus indicator's `isAccepting` down), while its connections are served as usual: time
   * for a load balancer's readiness probe to take it out of rotation, so that the clients told
   * to reconnect are not sent back to it. Set it to the probe period times its failure
   * threshold, plus the balancer's propagation delay; 0 sends the 1012s at once.
   * @default 0
   */
  drainDelay?: number;
  /**
   * Milliseconds over which the 1012s of a shutdown are spread, evenly, in batches every 100 ms
   * (after `drainDelay`); the connections waiting their turn are served as usual. The other
   * nodes take the drained node's clients at their connect rate (an authenticated connect and a
   * resume cost milliseconds of CPU each): a herd that arrives faster queues past the clients'
   * deadlines, and their retries add to the queue. Set it to the connections of a node divided by
   * the rate the others can absorb (e.g. 15 000 connections at 500 connects/s: 30 000), and the
   * orchestrator's grace period above `drainDelay` + `drainSpread` + `shutdownTimeout`. 0 sends
   * them all at once (the clients' own random reconnect delay still spreads them a little).
   * @default 0
   */
  drainSpread?: number;
  /**
   * Built-in message handlers (PROTOCOL.md); switch one off to replace it with your own
   * `@OnMessage` handler for the same type.
   * @default { echo: true, ping: true }
   */
  builtins?: Partial<Record<BuiltinMessageType, boolean>>;
  /**
   * Milliseconds a session outlives its dropped connection (with its rooms and metadata), so a
   * reconnecting client can resume it; 0 forgets it at once.
   * @default 120000
   */
  sessionTtl?: number;
  /**
   * Room behaviour (presence, slow-consumer policy): one setting for every room, or a function
   * of the room id ("per room pattern"). Read when a room is created on this node.
   * @default { presence: true, slowConsumer: 'disconnect' }
   */
  rooms?: RoomSettings | ((roomId: string) => RoomSettings);
  /**
   * Guards run on every join (after the `joinPolicy`), with an `ExecutionContext` of type `'ws'`
   * whose client is the connection and whose data is `{ room_id }`. A refusal is `FORBIDDEN`.
   * Classes are created by Nest.
   * @default []
   */
  joinGuards?: readonly (Type<CanActivate> | CanActivate)[];
  /**
   * Most rooms one connection may be in; one more join is refused with `FORBIDDEN`.
   * @default 1000
   */
  maxRoomsPerConnection?: number;
  /**
   * Node-wide bounds of room history (memory) and of replays on `resume`.
   * @default { maxBytes: 64 MiB, maxConcurrentReplays: 16, replayChunkBytes: 256 KiB }
   */
  history?: RealtimeHistoryOptions;
  /**
   * Bounds of one `resume` message.
   * @default { maxRooms: 100 }
   */
  resume?: RealtimeResumeOptions;
  /**
   * How rooms, users and announcements reach other nodes: `new RedisClusterAdapter({ url })`
   * (from `nest-realtime/redis`), or your own `ClusterAdapter` subclass.
   * @default an in-memory adapter (one node)
   */
  cluster?: ClusterAdapterLike;
  /**
   * JWT authentication. Without it connections are anonymous and `@RequireRoles` refuses all.
   */
  auth?: RealtimeAuthOptions;
  /**
   * Guards run when a connection opens, before the upgrade, with an `ExecutionContext` of type
   * `'ws'` whose client (`switchToWs().getClient()`, also `switchToHttp().getRequest()`) is the
   * HTTP upgrade request, with `request.user` set when the handshake carried a valid token. A
   * refusal is HTTP 401 (no user) or 403 before the upgrade. They run again, on the same request
   * with `request.user` set to the new user, when an `auth` message changes the identity; a
   * refusal is then `auth_error FORBIDDEN` and the identity is kept. Classes are created by Nest.
   * @default []
   */
  connectionGuards?: readonly (Type<CanActivate> | CanActivate)[];
  /**
   * Connections one user may hold on this node; beyond it the upgrade gets HTTP 429 and an
   * `auth` message an `auth_error`. 0: unlimited.
   * @default 0
   */
  maxConnectionsPerUser?: number;
  /**
   * Connections one remote address may hold on this node; beyond it the upgrade gets HTTP 429.
   * 0: unlimited.
   * @default 0
   */
  maxConnectionsPerAddress?: number;
  /**
   * Proxies trusted to name the client in `X-Forwarded-For`, for `maxConnectionsPerAddress` and
   * the connection's `remoteAddress` (Express's `trust proxy` values: `true`, a hop count,
   * addresses/subnets such as `'loopback'` or `['10.0.0.0/8']`, or a predicate). Behind a load
   * balancer every connection otherwise comes from the balancer's address, and one per-address
   * limit would be shared by all clients.
   * @default false (the TCP peer is the client)
   */
  trustProxy?: TrustProxy;
  /**
   * Per-connection message rate limit, or `false` for none.
   * @default { messagesPerSecond: 100, burst: 200, disconnectAfter: 100 }
   */
  rateLimit?: RealtimeRateLimitOptions | false;
  /**
   * OpenTelemetry spans (README, "Tracing with OpenTelemetry"): a span per handled message
   * (continuing a client's `metadata.traceparent`), per room broadcast, and per delivery of a
   * broadcast on each node, linked across the cluster. They are made only when
   * `@opentelemetry/api` is installed and an SDK is registered; otherwise this costs a test per
   * message. `false`: never, whatever is registered.
   * @default true
   */
  tracing?: boolean;
}

/** Options after defaults were applied and the whole set was validated. */
export interface ResolvedRealtimeOptions extends Required<
  Omit<
    RealtimeModuleOptions,
    | 'allowedOrigins'
    | 'builtins'
    | 'auth'
    | 'rateLimit'
    | 'rooms'
    | 'cluster'
    | 'history'
    | 'resume'
    | 'trustProxy'
    | 'compression'
  >
> {
  compression: Required<RealtimeCompressionOptions>;
  trustProxy: TrustProxyPredicate | undefined;
  history: Required<RealtimeHistoryOptions>;
  resume: Required<RealtimeResumeOptions>;
  /**
   * The adapter given, as given (`undefined`: none). The module checks it and supplies the
   * in-memory default (realtime.providers.ts: both need cluster/, which sits above options/):
   * inject `ClusterAdapter`, which is always set, rather than reading this.
   */
  cluster: ClusterAdapterLike | undefined;
  allowedOrigins: OriginPredicate | undefined;
  builtins: Record<BuiltinMessageType, boolean>;
  rooms: (roomId: string) => ResolvedRoomSettings;
  auth: ResolvedAuthOptions | undefined;
  rateLimit: Required<RealtimeRateLimitOptions> | undefined;
}

/** Authentication settings after defaults. */
export interface ResolvedAuthOptions extends RealtimeAuthOptions {
  required: boolean;
  expiryGracePeriod: number;
  requireExpiration: boolean;
}

import type { WebSocket } from 'ws';
import type { RealtimeUser } from '../interfaces/realtime-user.interface.js';
import type { InboundQueue } from './inbound-queue.js';
import { closeSlowConsumer } from './close-slow-consumer.js';
import type { FrameCompression } from './frame-compression.js';
import { type TextFrame, writeText } from './frame-write.js';
import type { CorkableStream, WriteBatch } from './write-batch.js';
import type { RealtimeStats } from '../stats/realtime-stats.js';
import { CloseCode } from '../protocol/close-codes.js';
import type { Envelope } from '../protocol/envelope.js';
import { isoNow } from '../utils/clock.js';

const NO_ROOMS: ReadonlySet<string> = new Set<string>();

/**
 * One live WebSocket connection and its state. This object is what handlers receive through
 * `@Connection()` (and `ExecutionContext.switchToWs().getClient()`).
 *
 * It is deliberately flat: plain fields, no per-connection closures, observables or timers, so an
 * idle connection costs little more than the socket itself (heartbeats and timeouts are driven by
 * one sweep over all connections, not by a timer each).
 */
export class RealtimeConnection {
  /** Authenticated user id; `undefined` until the connection authenticates. */
  userId: string | undefined = undefined;
  /** The authenticated user; `undefined` until the connection authenticates. */
  user: RealtimeUser | undefined = undefined;
  /** Epoch ms at which the token expires; 0 when it does not. */
  tokenExpiresAt = 0;
  /** Epoch ms at which `TOKEN_EXPIRED` was sent; 0 while the token is valid. */
  tokenExpiredAt = 0;
  /**
   * Rate limiter: messages and bytes left in the buckets, when they were last refilled, refusals
   * in a row.
   */
  rateTokens = 0;
  rateBytes = 0;
  rateRefilledAt = 0;
  rateViolations = 0;
  /** Application data attached to the connection; created on first use. */
  private metadataStore: Map<string, unknown> | undefined = undefined;
  /** Epoch ms of the last inbound message (pongs excluded). */
  lastActiveAt: number;
  /** Epoch ms of the last inbound frame of any kind, pongs included. */
  lastSeenAt: number;
  /** Epoch ms of the last pong (the open counts as one). */
  lastPongAt: number;
  /** Epoch ms of the last ping sent (queued on the socket). */
  lastPingAt: number;
  /** Set by the socket once the last ping has been written out, past any frames queued before it. */
  pingWritten = false;
  /**
   * Epoch ms by which the last ping was seen written out (the sweeper's first pass after it was);
   * 0 while it waits behind frames queued before it, as for a peer reading a backlog slowly.
   */
  pingWrittenAt = 0;
  /** Bytes of inbound messages whose handlers have not finished (see `readBufferSize`). */
  pendingInboundBytes = 0;
  /**
   * @internal True while one of this connection's messages is being handled and holds the later
   * ones back (PROTOCOL.md, "Ordering"); those wait in `inbox`.
   */
  handling = false;
  /** @internal Frames received while `handling`, in order; created on first use. */
  inbox: InboundQueue | undefined = undefined;
  /** Write-timeout bookkeeping: buffered amount at the last sweep and since when it has not shrunk. */
  stalledBufferedAmount = 0;
  stalledSince = 0;
  /**
   * Outbound bytes the socket may hold unsent before this reader counts as a slow consumer and is
   * closed with 1013 (`writeBufferSize`); set by the server when the connection opens.
   */
  outboundLimit = Number.POSITIVE_INFINITY;
  /**
   * @internal The upgrade request, kept only when connection guards are configured: they run
   * again on it when an `auth` message changes the identity.
   */
  handshakeRequest: object | undefined = undefined;
  /** The node's counters (shared by all connections; set by the server when the connection opens). */
  stats: RealtimeStats | undefined = undefined;
  /** Frames held back for a slow reader under the `conflate` policy, by key (see BroadcastEngine). */
  conflated: Map<string, TextFrame> | undefined = undefined;
  /**
   * @internal The node's `permessage-deflate` settings when this connection negotiated
   * compatible parameters (set by the server when the connection opens); `undefined`: every
   * frame goes uncompressed.
   */
  compression: FrameCompression | undefined = undefined;
  /**
   * @internal The node's write batch (set by the server when the connection opens): this turn's
   * writes to the connection leave in one socket write. `undefined`: every write goes at once.
   */
  batch: WriteBatch | undefined = undefined;
  /** @internal The TCP socket under `socket`, which the batch corks (set with `batch`). */
  transport: CorkableStream | undefined = undefined;
  /** @internal True while the batch holds this connection's writes. */
  writesHeld = false;

  constructor(
    /** Connection (client) id, sent as `connected.client_id`. */
    readonly id: string,
    /** Session id, sent as `connected.session_id`. */
    readonly sessionId: string,
    /** The underlying `ws` socket. */
    readonly socket: WebSocket,
    /** The remote address, or the TCP socket to read it from when first asked (see remoteAddress). */
    private peer: string | { readonly remoteAddress?: string } | undefined,
    /** Epoch ms of the upgrade. */
    readonly createdAt: number,
  ) {
    this.lastActiveAt = createdAt;
    this.lastSeenAt = createdAt;
    this.lastPongAt = createdAt;
    this.lastPingAt = createdAt;
  }

  /**
   * Remote IP address as seen by the HTTP server. Read from the socket when first asked (a
   * `getpeername` call costs a noticeable share of a connect, and most apps never ask), then kept:
   * ask while the connection is open (guards, handlers, `connection.opened`); read for the first
   * time after the socket closed it is `undefined`.
   */
  get remoteAddress(): string | undefined {
    const peer = this.peer;
    if (peer === undefined || typeof peer === 'string') return peer;
    const address = peer.remoteAddress;
    if (address !== undefined) this.peer = address;
    return address;
  }

  /** True while frames can be sent. */
  get isOpen(): boolean {
    return this.socket.readyState === 1;
  }

  /**
   * True when the connection carries a user whose token has not expired (as of its last inbound
   * message: the router checks this on every message without reading the clock again).
   */
  isAuthenticated(): boolean {
    return this.user !== undefined && (this.tokenExpiresAt === 0 || this.lastActiveAt < this.tokenExpiresAt);
  }

  /** Room ids, created on the first join: most idle connections never pay for a Set. */
  private roomSet: Set<string> | undefined = undefined;

  /** Rooms this connection is a member of on this node (kept by the room layer). */
  get rooms(): ReadonlySet<string> {
    return this.roomSet ?? NO_ROOMS;
  }

  /** @internal Called by the room layer. */
  addRoom(roomId: string): void {
    (this.roomSet ??= new Set()).add(roomId);
  }

  /** @internal Called by the room layer. */
  removeRoom(roomId: string): boolean {
    const removed = this.roomSet?.delete(roomId) ?? false;
    if (this.roomSet?.size === 0) this.roomSet = undefined;
    return removed;
  }

  getMetadata<T = unknown>(key: string): T | undefined {
    return this.metadataStore?.get(key) as T | undefined;
  }

  setMetadata(key: string, value: unknown): void {
    (this.metadataStore ??= new Map()).set(key, value);
  }

  /** A copy of the metadata as a plain object. */
  metadata(): Record<string, unknown> {
    return this.metadataStore ? Object.fromEntries(this.metadataStore) : {};
  }

  /**
   * Sends one envelope (the server stamps `timestamp`). Returns false when the connection is no
   * longer open. Order is the order of calls: nothing is queued outside the socket.
   */
  send(envelope: Envelope): boolean {
    envelope.timestamp = isoNow();
    return this.sendText(JSON.stringify(envelope));
  }

  /**
   * Sends an already-serialized frame as one text frame. The frames a connection is sent within
   * one turn of the event loop leave in one socket write (see WriteBatch).
   */
  sendText(frame: string): boolean {
    const socket = this.socket;
    if (socket.readyState !== 1) return false;
    // A reader that stopped reading must not make the server buffer without bound, nor slow
    // anyone else down: past the limit it is cut off, and reconnects (and resumes) when it can.
    if (socket.bufferedAmount > this.outboundLimit) {
      closeSlowConsumer(this, this.stats);
      return false;
    }
    // This turn's writes to the connection leave in one socket write (see WriteBatch), compressed or not.
    this.batch?.hold(this);
    writeText(this, frame);
    if (this.stats) this.stats.messagesSent++;
    return true;
  }

  /** Closes the connection politely with `code` (a close frame, then TCP close). */
  close(code: number = CloseCode.NORMAL, reason = ''): void {
    const state = this.socket.readyState;
    if (state === 0 || state === 1) this.socket.close(code, reason);
  }

  /** Drops the TCP connection at once, for dead or abusive peers. */
  terminate(): void {
    this.socket.terminate();
  }
}

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebSocket, WebSocketServer } from 'ws';
import { ConnectionManager } from '../connections/connection.manager.js';
import { RealtimeConnection } from '../connections/realtime-connection.js';
import type { FrameCompression } from '../connections/frame-compression.js';
import { compressionFor, nodeCompression, perMessageDeflateOption } from './per-message-deflate.js';
import { WriteBatch } from '../connections/write-batch.js';
import { underlyingSocket } from '../internal/ws-internals.js';
import { MessageLabel, RealtimeStats } from '../stats/realtime-stats.js';
import { MessageDispatcher } from '../dispatch/message.dispatcher.js';
import { EventPublisher } from '../events/event.publisher.js';
import { RoomManager } from '../rooms/room.manager.js';
import { SessionManager } from '../sessions/session.manager.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { CloseCode } from '../protocol/close-codes.js';
import { MessageType } from '../protocol/message-types.js';
import type { ConnectedData } from '../protocol/envelope.js';
import type { AuthSuccessData } from '../protocol/server-frames.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { Messages } from '../realtime.messages.js';
import { type Authentication, Authenticator } from '../auth/authenticator.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { clientAddressOf } from './client-address.js';
import { ConnectionSweeper } from './connection.sweeper.js';
import { HandshakeAdmission } from '../auth/handshake-admission.js';
import { initRateLimit, RateVerdict, takeRateTokens } from './rate-limiter.js';
import { sendAwaySpread } from './spread-drain.js';
import { UpgradeAdmission } from './upgrade-admission.js';

const kConnection = Symbol('nest-realtime.connection');
type HostedSocket = WebSocket & { [kConnection]?: RealtimeConnection };

function connectionOf(socket: WebSocket): RealtimeConnection {
  return (socket as HostedSocket)[kConnection]!;
}

/**
 * The WebSocket endpoint on the application's own HTTP server: connection lifecycle and graceful
 * shutdown. Which upgrades become connections is {@link UpgradeAdmission}'s to decide.
 *
 * Socket listeners are created once per server, not per connection, and find their connection
 * through a symbol on the socket (the way `ws` itself wires its internals).
 */
@Injectable()
export class RealtimeServer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('RealtimeServer');
  private readonly wss: WebSocketServer;
  private readonly sweeper: ConnectionSweeper;
  /** `permessage-deflate` for the connections that negotiate it (`compression` option). */
  private readonly compression: FrameCompression | undefined;
  /** Coalesces each turn's writes to a connection into one socket write (`writeDelay`). */
  private readonly writeBatch: WriteBatch;
  /** Decides which upgrades become connections, and keeps their slot and per-address counts. */
  private readonly admission: UpgradeAdmission;
  private drained: (() => void) | undefined;

  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly adapterHost: HttpAdapterHost,
    private readonly connections: ConnectionManager,
    private readonly dispatcher: MessageDispatcher,
    private readonly stats: RealtimeStats,
    private readonly handshake: HandshakeAdmission,
    private readonly authenticator: Authenticator,
    private readonly sessions: SessionManager,
    private readonly rooms: RoomManager,
    private readonly events: EventPublisher,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: options.maxMessageSize,
      perMessageDeflate: perMessageDeflateOption(options),
    });
    this.compression = nodeCompression(options, stats);
    this.writeBatch = new WriteBatch(options.writeDelay, options.writeBufferSize);
    this.admission = new UpgradeAdmission(options, stats, handshake, connections, this.wss, this.open.bind(this));
    this.sweeper = new ConnectionSweeper(
      connections,
      stats,
      options,
      (connection) => this.forget(connection, 1006, ''),
      (now) => {
        this.sessions.purgeExpired(now);
        this.rooms.purgeIdleSequences(now);
      },
    );
    // One listener pair per server, shared by every socket: `this` inside is the socket (as `ws`
    // calls listeners), and the server is reached through this alias, not a closure per socket.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const server = this;
    this.onSocketMessage = function (this: WebSocket, data: Buffer, isBinary: boolean) {
      server.handleMessage(connectionOf(this), data, isBinary);
    };
    this.onSocketClose = function (this: WebSocket, code: number, reason: Buffer) {
      server.handleClose(connectionOf(this), code, reason);
    };
  }

  private readonly onSocketMessage: (this: WebSocket, data: Buffer, isBinary: boolean) => void;
  private readonly onSocketClose: (this: WebSocket, code: number, reason: Buffer) => void;

  /** True while new connections are accepted. */
  get isAccepting(): boolean {
    return this.admission.isAccepting;
  }

  /** Slots of `maxConnections` taken: open connections and upgrades being admitted. */
  get connectionSlotsInUse(): number {
    return this.admission.connectionSlotsInUse;
  }

  onApplicationBootstrap(): void {
    const httpServer = this.adapterHost?.httpAdapter?.getHttpServer?.() as HttpServer | undefined;
    if (!httpServer || typeof httpServer.on !== 'function') {
      this.logger.warn(Messages.noHttpServer());
      return;
    }
    this.admission.start(httpServer);
    this.sweeper.start();
    this.logger.log(`WebSocket endpoint ready at ${this.options.path} (node ${this.options.nodeId})`);
  }

  /**
   * Graceful shutdown: stop accepting (which readiness reports), wait `drainDelay` while serving
   * the open connections, ask every client to reconnect elsewhere and resume (close 1012, spread
   * over `drainSpread`), wait up to `shutdownTimeout` for them to go, then cut whoever is left.
   *
   * Nest runs this hook before it closes the HTTP server, so a readiness route still answers 503
   * during the delay: a load balancer stops routing here before the 1012s send clients away.
   */
  async onModuleDestroy(): Promise<void> {
    if (!this.admission.isListening) return;
    this.admission.stopAccepting();
    if (this.options.drainDelay > 0) {
      this.logger.log(
        `Draining: not ready; ${this.connections.count} connection(s) get 1012 in ${this.options.drainDelay} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, this.options.drainDelay));
    }
    if (this.connections.count > 0) {
      const done = new Promise<void>((resolve) => (this.drained = resolve));
      // They resume on other nodes: their rooms' presence is handed over, not left.
      this.rooms.handOver();
      const { drainSpread } = this.options;
      if (drainSpread > 0) {
        this.logger.log(`Draining: ${this.connections.count} connection(s) get 1012 over ${drainSpread} ms`);
      }
      // The sweeper runs on meanwhile: the connections waiting their turn are served as usual.
      await sendAwaySpread(
        [...this.connections.connections()],
        drainSpread,
        (connection) => {
          if (!connection.isOpen) return;
          this.stats.countServerClose(CloseCode.SERVICE_RESTART);
          connection.close(CloseCode.SERVICE_RESTART, 'service restart');
        },
        () => this.connections.count === 0,
      );
      this.sweeper.stop();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.shutdownTimeout)));
      await Promise.race([done, timeout]);
      clearTimeout(timer);
      for (const connection of [...this.connections.connections()]) {
        connection.terminate();
        this.forget(connection, 1006, 'terminated at shutdown');
      }
      this.drained = undefined;
    }
    this.sweeper.stop();
    this.writeBatch.stop();
    this.admission.stop();
    this.wss.close();
  }

  /**
   * Called by `handleUpgrade` synchronously, inside `cork()` / `uncork()` of the TCP socket: the
   * 101 response, `connected` and `auth_success` leave in one write (one syscall, usually one
   * segment) instead of one write each.
   */
  private open(
    ws: HostedSocket,
    request: IncomingMessage,
    authentication: Authentication | undefined,
    clientAddress: string | undefined,
    addressReserved: boolean,
  ): void {
    const now = Date.now();
    const session = this.sessions.open(now);
    // The address the upgrade already resolved; else, without trusted proxies, the socket to read
    // it from when first asked for.
    const trust = this.options.trustProxy;
    const peer = clientAddress ?? (trust === undefined ? request.socket : clientAddressOf(request, trust));
    const connection = new RealtimeConnection(randomUUID(), session.id, ws, peer, now);
    this.sessions.attach(session, connection);
    if (this.handshake.hasGuards) connection.handshakeRequest = request;
    connection.outboundLimit = this.options.writeBufferSize;
    connection.stats = this.stats;
    connection.compression = compressionFor(ws, this.compression);
    connection.transport = underlyingSocket(ws);
    connection.batch = this.writeBatch;
    initRateLimit(connection, now, this.options.rateLimit);
    ws[kConnection] = connection;
    ws.on('message', this.onSocketMessage);
    ws.on('close', this.onSocketClose);
    ws.on('pong', onSocketPong);
    ws.on('error', onSocketError);
    this.connections.add(connection);
    this.stats.totalConnections++;
    this.stats.activeConnections++;
    this.admission.connectionOpened(connection, addressReserved);
    connection.send({
      type: MessageType.CONNECTED,
      data: {
        client_id: connection.id,
        session_id: connection.sessionId,
        node_id: this.options.nodeId,
        heartbeat_ms: this.options.pingInterval,
      } satisfies ConnectedData,
    });
    if (Logger.isLevelEnabled('debug')) {
      this.logger.debug(`connection ${connection.id} opened from ${connection.remoteAddress ?? '?'}`);
    }
    if (this.events.isObserved('connection.opened')) this.events.emit('connection.opened', { connection });
    if (authentication) this.authenticateAtOpen(connection, authentication);
  }

  /** A handshake token authenticates before the first message: `auth_success` follows `connected`. */
  private authenticateAtOpen(connection: RealtimeConnection, authentication: Authentication): void {
    try {
      this.authenticator.bind(connection, authentication);
    } catch {
      // The user reached maxConnectionsPerUser between the check at the upgrade and now.
      this.stats.countServerClose(CloseCode.POLICY_VIOLATION);
      connection.close(CloseCode.POLICY_VIOLATION, 'connection limit reached for this user');
      return;
    }
    const { user } = authentication;
    connection.send({
      type: 'auth_success',
      data: { user_id: user.id, username: user.username, roles: user.roles } satisfies AuthSuccessData,
    });
  }

  private handleMessage(connection: RealtimeConnection, data: Buffer, isBinary: boolean): void {
    // `ws` goes on emitting frames that were already read while a close is under way: a
    // connection the server is closing (1003, 1008, 1013, ...) has no more side effects.
    if (connection.socket.readyState !== 1) return;
    const now = Date.now();
    connection.lastActiveAt = now;
    connection.lastSeenAt = now;
    if (isBinary) {
      // The JSON protocol has no binary frames (PROTOCOL.md, "Transport").
      this.stats.countReceived(MessageLabel.BINARY, data.length);
      this.stats.countServerClose(CloseCode.UNSUPPORTED_DATA);
      connection.close(CloseCode.UNSUPPORTED_DATA, 'binary frames are not supported');
      return;
    }
    const rateLimit = this.options.rateLimit;
    if (rateLimit !== undefined) {
      const verdict = takeRateTokens(connection, now, rateLimit, data.length);
      if (verdict !== RateVerdict.ACCEPTED) {
        this.stats.countReceived(MessageLabel.RATE_LIMITED, data.length);
        this.rateLimited(connection, rateLimit.disconnectAfter, verdict);
        return;
      }
    }
    try {
      this.dispatcher.dispatch(connection, data);
    } catch (error) {
      // The dispatcher answers every failure itself; this is the last line before a crash.
      this.logger.error(
        'Unexpected error while handling a message',
        error instanceof Error ? error.stack : String(error),
      );
    }
  }

  /** The message is dropped unhandled (not even parsed); sustained abuse closes with 1008. */
  private rateLimited(connection: RealtimeConnection, disconnectAfter: number, verdict: RateVerdict): void {
    this.stats.rateLimited++;
    if (this.events.isObserved('message.rejected')) {
      this.events.emit('message.rejected', { connection, type: undefined, code: ErrorCode.RATE_LIMITED });
    }
    if (disconnectAfter > 0 && connection.rateViolations >= disconnectAfter) {
      this.logger.warn(`connection ${connection.id} exceeded the rate limit: closing with 1008`);
      this.stats.countServerClose(CloseCode.POLICY_VIOLATION);
      connection.close(CloseCode.POLICY_VIOLATION, 'rate limit exceeded');
      return;
    }
    const message = verdict === RateVerdict.TOO_MANY_BYTES ? 'too many bytes' : 'too many messages';
    this.dispatcher.sendError(connection, MessageLabel.RATE_LIMITED, ErrorCode.RATE_LIMITED, message);
  }

  private handleClose(connection: RealtimeConnection, code: number, reason: Buffer): void {
    if (this.forget(connection, code, reason.toString())) {
      this.logger.debug(`connection ${connection.id} closed (${code})`);
    }
  }

  /**
   * Drops a connection from every registry: rooms (its session keeps the room list for a
   * resume), connections, per-address counts. False if it was already gone.
   */
  private forget(connection: RealtimeConnection, code: number, reason: string): boolean {
    if (!this.connections.remove(connection)) return false;
    this.dispatcher.discard(connection);
    this.stats.activeConnections--;
    this.stats.countClose(code);
    this.rooms.leaveAll(connection, 'disconnect');
    this.sessions.detach(connection, Date.now());
    this.admission.connectionClosed(connection);
    if (this.events.isObserved('connection.closed')) {
      this.events.emit('connection.closed', { connection, code, reason });
    }
    if (this.drained && this.connections.count === 0) this.drained();
    return true;
  }

  /** Remote addresses with live connections and their counts (when `maxConnectionsPerAddress` is set). */
  connectionsPerAddress(): ReadonlyMap<string, number> {
    return this.admission.connectionsPerAddress();
  }
}

function onSocketPong(this: WebSocket): void {
  const connection = connectionOf(this);
  const now = Date.now();
  connection.lastPongAt = now;
  connection.lastSeenAt = now;
}

/**
 * `ws` emits 'error' for protocol violations (oversized frame: 1009, invalid UTF-8: 1007, ...)
 * and closes the socket itself; a listener must exist so the error is not thrown.
 */
function onSocketError(this: WebSocket): void {
  const stats = connectionOf(this).stats;
  if (stats) stats.socketErrors++;
}

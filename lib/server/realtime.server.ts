import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebSocket, WebSocketServer } from 'ws';
import { ConnectionManager } from '../connections/connection.manager.js';
import { RealtimeConnection } from '../connections/realtime-connection.js';
import type { FrameCompression } from '../connections/frame-compression.js';
import { compressionFor, nodeCompression, perMessageDeflateOption } from './per-message-deflate.js';
import { WriteBatch } from '../connections/write-batch.js';
import { underlyingSocket } from '../internal/ws-internals.js';
import { MessageLabel, RealtimeStats, type UpgradeRejection } from '../stats/realtime-stats.js';
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
import { abortHandshake } from './abort-handshake.js';
import { clientAddressOf } from './client-address.js';
import { ConnectionSweeper } from './connection.sweeper.js';
import { HandshakeAdmission, HandshakeRefusal } from '../auth/handshake-admission.js';
import { initRateLimit, RateVerdict, takeRateTokens } from './rate-limiter.js';
import { isPromiseLike } from '../utils/maybe-promise.js';
import { claimUpgradePath } from './upgrade-claim.js';
import { OverloadShedding } from './overload-shedding.js';

const kConnection = Symbol('nest-realtime.connection');
type HostedSocket = WebSocket & { [kConnection]?: RealtimeConnection };

function connectionOf(socket: WebSocket): RealtimeConnection {
  return (socket as HostedSocket)[kConnection]!;
}

/** An upgrade being admitted asynchronously. */
interface PendingUpgrade {
  socket: Duplex;
  timer: NodeJS.Timeout;
  /** Answers 503 (shutting down) if it has not settled yet. */
  refuse(): void;
}

function destroySocket(this: Duplex): void {
  this.destroy();
}

function rejectionOf(status: number): UpgradeRejection {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 429) return 'user_limit';
  return 'error';
}

/**
 * The WebSocket endpoint on the application's own HTTP server: admission at the upgrade
 * (path, origin, capacity, handshake timeout), connection lifecycle, and graceful shutdown.
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
  /** Refuses upgrades while the event loop lags (`maxEventLoopDelay`); absent when off. */
  private readonly shedding: OverloadShedding | undefined;
  private httpServer: HttpServer | undefined;
  private releaseUpgradePath: (() => void) | undefined;
  private accepting = false;
  /** Upgrades whose asynchronous admission (token, connection guards) is under way. */
  private readonly pendingUpgrades = new Set<PendingUpgrade>();
  private drained: (() => void) | undefined;
  /** Live connections per remote address; kept only when `maxConnectionsPerAddress` is set. */
  private readonly perAddress = new Map<string, number>();

  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly adapterHost: HttpAdapterHost,
    private readonly connections: ConnectionManager,
    private readonly dispatcher: MessageDispatcher,
    private readonly stats: RealtimeStats,
    private readonly admission: HandshakeAdmission,
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
    this.shedding = options.maxEventLoopDelay > 0 ? new OverloadShedding(options.maxEventLoopDelay) : undefined;
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
    return this.accepting;
  }

  /** Slots of `maxConnections` taken: open connections and upgrades being admitted. */
  get connectionSlotsInUse(): number {
    return this.connections.count + this.pendingUpgrades.size;
  }

  onApplicationBootstrap(): void {
    const httpServer = this.adapterHost?.httpAdapter?.getHttpServer?.() as HttpServer | undefined;
    if (!httpServer || typeof httpServer.on !== 'function') {
      this.logger.warn(Messages.noHttpServer());
      return;
    }
    this.httpServer = httpServer;
    // Our path is claimed ahead of every 'upgrade' listener (see claimUpgradePath: WsAdapter and
    // engine.io destroy upgrades for paths they do not own); the listener answers other paths.
    this.releaseUpgradePath = claimUpgradePath(httpServer, this.options.path, this.onUpgrade);
    httpServer.on('upgrade', this.onForeignUpgrade);
    this.sweeper.start();
    this.shedding?.start();
    this.accepting = true;
    this.logger.log(`WebSocket endpoint ready at ${this.options.path} (node ${this.options.nodeId})`);
  }

  /**
   * Graceful shutdown: stop accepting (which readiness reports), wait `drainDelay` while serving
   * the open connections, ask every client to reconnect elsewhere and resume (close 1012), wait
   * up to `shutdownTimeout` for them to go, then cut whoever is left.
   *
   * Nest runs this hook before it closes the HTTP server, so a readiness route still answers 503
   * during the delay: a load balancer stops routing here before the 1012s send clients away.
   */
  async onModuleDestroy(): Promise<void> {
    if (!this.httpServer) return;
    this.accepting = false;
    for (const pending of [...this.pendingUpgrades]) pending.refuse();
    if (this.options.drainDelay > 0) {
      this.logger.log(
        `Draining: not ready; ${this.connections.count} connection(s) get 1012 in ${this.options.drainDelay} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, this.options.drainDelay));
    }
    this.sweeper.stop();
    this.shedding?.stop();
    if (this.connections.count > 0) {
      const done = new Promise<void>((resolve) => (this.drained = resolve));
      // They resume on other nodes: their rooms' presence is handed over, not left.
      this.rooms.handOver();
      for (const connection of this.connections.connections()) {
        this.stats.countServerClose(CloseCode.SERVICE_RESTART);
        connection.close(CloseCode.SERVICE_RESTART, 'service restart');
      }
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
    this.writeBatch.stop();
    this.httpServer.off('upgrade', this.onForeignUpgrade);
    this.releaseUpgradePath?.();
    this.releaseUpgradePath = undefined;
    this.httpServer = undefined;
    this.wss.close();
  }

  /** An upgrade for another path: another listener (a gateway, a dev server) may own it. */
  private readonly onForeignUpgrade = (_request: IncomingMessage, socket: Duplex): void => {
    if (this.httpServer?.listenerCount('upgrade') !== 1) return;
    socket.on('error', destroySocket);
    this.reject(socket, 'bad_request', 404);
  };

  /** An upgrade for our path (claimed on the HTTP server, so no other listener sees it). */
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Node removed the HTTP server's error handler before emitting 'upgrade' and `ws` adds its
    // own only inside handleUpgrade: until then a reset by the peer must not crash the process.
    socket.on('error', destroySocket);
    if (!this.accepting) return this.reject(socket, 'draining', 503);
    if (this.shedding?.overloaded) {
      return this.reject(socket, 'overloaded', 503, `Retry-After: ${this.shedding.retryAfter()}\r\n`);
    }
    if (!this.originAllowed(request)) return this.reject(socket, 'origin', 403);
    if (this.connectionSlotsInUse >= this.options.maxConnections) {
      this.logger.warn(`maxConnections (${this.options.maxConnections}) reached: refusing an upgrade`);
      return this.reject(socket, 'capacity', 503);
    }
    const addressLimit = this.options.maxConnectionsPerAddress;
    // Read here only for the limit (without trusted proxies, open() leaves it to be read lazily).
    const clientAddress = addressLimit > 0 ? clientAddressOf(request, this.options.trustProxy) : undefined;
    const address = clientAddress ?? '';
    if (addressLimit > 0 && (this.perAddress.get(address) ?? 0) >= addressLimit) {
      this.logger.warn(`maxConnectionsPerAddress (${addressLimit}) reached for ${address}: refusing an upgrade`);
      return this.reject(socket, 'address_limit', 429);
    }
    let admitted: ReturnType<HandshakeAdmission['admit']>;
    try {
      admitted = this.admission.admit(request);
    } catch (error) {
      const status = error instanceof HandshakeRefusal ? error.status : 500;
      return this.reject(socket, rejectionOf(status), status);
    }
    if (isPromiseLike(admitted)) return this.admitAsync(request, socket, head, clientAddress, admitted);
    // Nothing asynchronous to check (no token, or a token the default validator checked at
    // once): the upgrade completes in this tick.
    socket.off('error', destroySocket);
    socket.cork();
    this.wss.handleUpgrade(request, socket, head, (ws) =>
      this.open(ws as HostedSocket, request, admitted, clientAddress),
    );
    socket.uncork();
  };

  /**
   * An upgrade whose admission is asynchronous (connection guards, or a validator or user
   * provider that returns a promise). Its slot (capacity and per-address)
   * is reserved at once, so concurrent handshakes cannot overshoot a limit while they are
   * checked; it is released if the upgrade does not end in an open connection.
   */
  private admitAsync(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    clientAddress: string | undefined,
    admission: PromiseLike<Authentication | undefined>,
  ): void {
    const address = clientAddress ?? '';
    const reserveAddress = this.options.maxConnectionsPerAddress > 0;
    if (reserveAddress) this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    const pending: PendingUpgrade = {
      socket,
      timer: setTimeout(() => {
        if (settle(false)) this.reject(socket, 'handshake_timeout', 408);
      }, this.options.handshakeTimeout),
      refuse: () => {
        if (settle(false)) this.reject(socket, 'draining', 503);
      },
    };
    const settle = (opened: boolean): boolean => {
      if (!this.pendingUpgrades.delete(pending)) return false;
      clearTimeout(pending.timer);
      socket.off('close', onClose);
      if (reserveAddress && !opened) this.releaseAddress(address);
      return true;
    };
    const onClose = (): void => void settle(false);
    this.pendingUpgrades.add(pending);
    socket.once('close', onClose);
    admission.then(
      (authentication) => {
        if (!this.pendingUpgrades.has(pending)) return;
        if (!this.accepting) return pending.refuse();
        socket.off('error', destroySocket);
        socket.cork();
        this.wss.handleUpgrade(request, socket, head, (ws) => {
          if (settle(true)) this.open(ws as HostedSocket, request, authentication, clientAddress, reserveAddress);
          else ws.terminate();
        });
        socket.uncork();
      },
      (error: unknown) => {
        if (!settle(false)) return;
        const status = error instanceof HandshakeRefusal ? error.status : 500;
        this.reject(socket, rejectionOf(status), status);
      },
    );
  }

  /** A predicate that throws refuses the origin (and is logged) rather than crash the upgrade. */
  private originAllowed(request: IncomingMessage): boolean {
    const allowOrigin = this.options.allowedOrigins;
    if (!allowOrigin) return true;
    try {
      return allowOrigin(request.headers.origin, request) === true;
    } catch (error) {
      this.logger.error('The allowedOrigins predicate threw', error instanceof Error ? error.stack : String(error));
      return false;
    }
  }

  private releaseAddress(address: string): void {
    const count = (this.perAddress.get(address) ?? 1) - 1;
    if (count > 0) this.perAddress.set(address, count);
    else this.perAddress.delete(address);
  }

  private reject(socket: Duplex, reason: UpgradeRejection, status: number, headers?: string): void {
    this.stats.rejectedUpgrades[reason]++;
    abortHandshake(socket, status, undefined, headers);
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
    addressReserved = false,
  ): void {
    const now = Date.now();
    const session = this.sessions.open(now);
    // The address the upgrade already resolved; else, without trusted proxies, the socket to read
    // it from when first asked for.
    const trust = this.options.trustProxy;
    const peer = clientAddress ?? (trust === undefined ? request.socket : clientAddressOf(request, trust));
    const connection = new RealtimeConnection(randomUUID(), session.id, ws, peer, now);
    this.sessions.attach(session, connection);
    if (this.admission.hasGuards) connection.handshakeRequest = request;
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
    if (this.options.maxConnectionsPerAddress > 0 && !addressReserved) {
      const address = connection.remoteAddress ?? '';
      this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    }
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
    if (this.options.maxConnectionsPerAddress > 0) this.releaseAddress(connection.remoteAddress ?? '');
    if (this.events.isObserved('connection.closed')) {
      this.events.emit('connection.closed', { connection, code, reason });
    }
    if (this.drained && this.connections.count === 0) this.drained();
    return true;
  }

  /** Remote addresses with live connections and their counts (when `maxConnectionsPerAddress` is set). */
  connectionsPerAddress(): ReadonlyMap<string, number> {
    return this.perAddress;
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

import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Logger } from '@nestjs/common';
import type { WebSocket, WebSocketServer } from 'ws';
import type { ConnectionManager } from '../connections/connection.manager.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import type { RealtimeStats, UpgradeRejection } from '../stats/realtime-stats.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import type { Authentication } from '../auth/authenticator.js';
import { type HandshakeAdmission, HandshakeRefusal } from '../auth/handshake-admission.js';
import { isPromiseLike } from '../utils/maybe-promise.js';
import { abortHandshake } from './abort-handshake.js';
import { clientAddressOf } from './client-address.js';
import { OverloadShedding } from './overload-shedding.js';
import { claimUpgradePath } from './upgrade-claim.js';

/**
 * Opens the connection of an admitted upgrade. Called by `handleUpgrade` synchronously, inside
 * `cork()` / `uncork()` of the TCP socket. `addressReserved`: the upgrade's address was counted
 * while it was admitted asynchronously (see {@link UpgradeAdmission.connectionOpened}).
 */
export type OpenAdmitted = (
  ws: WebSocket,
  request: IncomingMessage,
  authentication: Authentication | undefined,
  clientAddress: string | undefined,
  addressReserved: boolean,
) => void;

/** An upgrade being admitted asynchronously. */
interface PendingUpgrade {
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
 * Admission at the upgrade: whether an HTTP upgrade for our path becomes a connection. The
 * checks run in this order — draining, overload (`maxEventLoopDelay`), origin, capacity
 * (`maxConnections`), per-address limit (`maxConnectionsPerAddress`), then the handshake's token
 * and connection guards ({@link HandshakeAdmission}, under `handshakeTimeout` when asynchronous)
 * — and every refusal is a plain HTTP answer counted under its `rejectedUpgrades` reason.
 *
 * It owns the accounting those checks read: the upgrades being admitted asynchronously (each
 * holds a connection slot) and the live connections per remote address. The connections
 * themselves are RealtimeServer's: it opens each admitted upgrade and reports when a connection
 * opens and closes.
 */
export class UpgradeAdmission {
  // RealtimeServer's log context: these lines were its own before admission had a file.
  private readonly logger = new Logger('RealtimeServer');
  /** Refuses upgrades while the event loop lags (`maxEventLoopDelay`); absent when off. */
  private readonly shedding: OverloadShedding | undefined;
  private httpServer: HttpServer | undefined;
  private releaseUpgradePath: (() => void) | undefined;
  private accepting = false;
  /** Upgrades whose asynchronous admission (token, connection guards) is under way. */
  private readonly pendingUpgrades = new Set<PendingUpgrade>();
  /** Live connections per remote address; kept only when `maxConnectionsPerAddress` is set. */
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly options: ResolvedRealtimeOptions,
    private readonly stats: RealtimeStats,
    private readonly handshake: HandshakeAdmission,
    private readonly connections: ConnectionManager,
    private readonly wss: WebSocketServer,
    private readonly open: OpenAdmitted,
  ) {
    this.shedding = options.maxEventLoopDelay > 0 ? new OverloadShedding(options.maxEventLoopDelay) : undefined;
  }

  /** True while new connections are accepted. */
  get isAccepting(): boolean {
    return this.accepting;
  }

  /** True from {@link start} to {@link stop}: the HTTP server's upgrades come here. */
  get isListening(): boolean {
    return this.httpServer !== undefined;
  }

  /** Slots of `maxConnections` taken: open connections and upgrades being admitted. */
  get connectionSlotsInUse(): number {
    return this.connections.count + this.pendingUpgrades.size;
  }

  /** Remote addresses with live connections and their counts (when `maxConnectionsPerAddress` is set). */
  connectionsPerAddress(): ReadonlyMap<string, number> {
    return this.perAddress;
  }

  /** Starts accepting upgrades for `options.path` on `httpServer`. */
  start(httpServer: HttpServer): void {
    this.httpServer = httpServer;
    // Our path is claimed ahead of every 'upgrade' listener (see claimUpgradePath: WsAdapter and
    // engine.io destroy upgrades for paths they do not own); the listener answers other paths.
    this.releaseUpgradePath = claimUpgradePath(httpServer, this.options.path, this.onUpgrade);
    httpServer.on('upgrade', this.onForeignUpgrade);
    this.shedding?.start();
    this.accepting = true;
  }

  /** Refuses new upgrades (503, draining), and those still being admitted too. */
  stopAccepting(): void {
    this.accepting = false;
    for (const pending of [...this.pendingUpgrades]) pending.refuse();
  }

  /** Lets go of the HTTP server: the path claim and the listener {@link start} added. */
  stop(): void {
    this.shedding?.stop();
    this.httpServer?.off('upgrade', this.onForeignUpgrade);
    this.releaseUpgradePath?.();
    this.releaseUpgradePath = undefined;
    this.httpServer = undefined;
  }

  /**
   * Counts a connection just opened against its address's limit, unless its asynchronous
   * admission reserved the count already.
   */
  connectionOpened(connection: RealtimeConnection, addressReserved: boolean): void {
    if (this.options.maxConnectionsPerAddress > 0 && !addressReserved) {
      const address = connection.remoteAddress ?? '';
      this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    }
  }

  /** Gives a closed connection's count back to its address. */
  connectionClosed(connection: RealtimeConnection): void {
    if (this.options.maxConnectionsPerAddress > 0) this.releaseAddress(connection.remoteAddress ?? '');
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
    // Read here only for the limit (without trusted proxies, RealtimeServer.open leaves it to be
    // read lazily).
    const clientAddress = addressLimit > 0 ? clientAddressOf(request, this.options.trustProxy) : undefined;
    const address = clientAddress ?? '';
    if (addressLimit > 0 && (this.perAddress.get(address) ?? 0) >= addressLimit) {
      this.logger.warn(`maxConnectionsPerAddress (${addressLimit}) reached for ${address}: refusing an upgrade`);
      return this.reject(socket, 'address_limit', 429);
    }
    let admitted: ReturnType<HandshakeAdmission['admit']>;
    try {
      admitted = this.handshake.admit(request);
    } catch (error) {
      const status = error instanceof HandshakeRefusal ? error.status : 500;
      return this.reject(socket, rejectionOf(status), status);
    }
    if (isPromiseLike(admitted)) return this.admitAsync(request, socket, head, clientAddress, admitted);
    // Nothing asynchronous to check (no token, or a token the default validator checked at
    // once): the upgrade completes in this tick.
    socket.off('error', destroySocket);
    socket.cork();
    this.wss.handleUpgrade(request, socket, head, (ws) => this.open(ws, request, admitted, clientAddress, false));
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
          if (settle(true)) this.open(ws, request, authentication, clientAddress, reserveAddress);
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
}

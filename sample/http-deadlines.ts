import type { Server } from 'node:http';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

export const HTTP_HEADERS_TIMEOUT = Symbol('HTTP_HEADERS_TIMEOUT');

/**
 * Deadlines on the HTTP server against slowloris: Node's defaults let a client hold a socket for
 * a minute by sending its request headers (an upgrade request included) a byte at a time, and
 * forever by sending nothing. A request must finish its headers within `headersTimeout`; a
 * socket idle that long is closed. Upgraded WebSockets are not affected: `ws` clears the socket
 * timeout when it takes the socket over, and heartbeats watch them from then on.
 *
 * Applied at bootstrap, before `listen()`: Node reads `connectionsCheckingInterval` when the
 * server starts listening.
 */
@Injectable()
export class HttpDeadlines implements OnApplicationBootstrap {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(HTTP_HEADERS_TIMEOUT) private readonly headersTimeout: number,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server || this.headersTimeout === 0) return;
    server.headersTimeout = this.headersTimeout;
    // Node refuses to start with headersTimeout > requestTimeout; a whole request (body
    // included) gets three times the header deadline, at least 30 s.
    server.requestTimeout = Math.max(3 * this.headersTimeout, 30_000);
    server.setTimeout(this.headersTimeout);
    // Expired requests are found by a sweep (every 30 s by default): sweep often enough that a
    // deadline is kept to within a quarter of itself.
    // A constructor option in Node's typings, but a plain property read at listen().
    (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(
      250,
      Math.min(1_000, Math.floor(this.headersTimeout / 4)),
    );
  }
}

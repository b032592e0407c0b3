/**
 * Errors the client rejects promises with or reports through its `error` event. Each failure has
 * its own class, so an app can branch with `instanceof` instead of parsing messages.
 */

/** The server answered a request with an error frame (`error`, `auth_error`, `authorization_error`). */
export class RealtimeRequestError extends Error {
  constructor(
    /** The PROTOCOL.md error code, e.g. `NOT_IN_ROOM`. */
    readonly code: string,
    message: string,
    /** The error frame's type. */
    readonly frameType: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'RealtimeRequestError';
  }
}

/** No reply with the request's id arrived in time. */
export class RequestTimeoutError extends Error {
  constructor(
    readonly type: string,
    readonly timeoutMs: number,
  ) {
    super(`no reply to "${type}" within ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

/**
 * The connection closed while a request was on the wire: the server may or may not have
 * handled it, so the client does not resend it on its own.
 */
export class ConnectionLostError extends Error {
  constructor(readonly type: string) {
    super(`the connection closed before "${type}" was answered; it may or may not have been handled`);
    this.name = 'ConnectionLostError';
  }
}

/** The client was disconnected (or gave up reconnecting) with this message still unsent. */
export class ClientClosedError extends Error {
  constructor(readonly type: string) {
    super(`the client is closed; "${type}" was not sent`);
    this.name = 'ClientClosedError';
  }
}

/** Sent while offline with the offline queue full: raise `offlineQueueSize` or wait for `open`. */
export class OfflineQueueFullError extends Error {
  constructor(
    readonly type: string,
    readonly limit: number,
  ) {
    super(`offline queue full (${limit} messages); "${type}" was not queued`);
    this.name = 'OfflineQueueFullError';
  }
}

/** A frame from the server was not a valid envelope; it was ignored. */
export class MalformedFrameError extends Error {
  constructor(readonly reason: string) {
    super(`ignored a malformed frame from the server: ${reason}`);
    this.name = 'MalformedFrameError';
  }
}

/** The server refused the token (`auth_error`): the client stops rather than retry it. */
export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthenticationError';
  }
}

/**
 * The token provider threw, returned no token or did not answer in `tokenTimeout`: reported,
 * and the connection attempt is retried with the backoff (a fetch may fail for a moment).
 */
export class TokenProviderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenProviderError';
  }
}

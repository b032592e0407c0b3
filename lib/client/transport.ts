/**
 * The part of the WebSocket API the client uses: the browser's `WebSocket` and the `ws`
 * package's both fit it, so the client never imports a Node module and runs in either.
 *
 * Handlers are the `on*` properties rather than `addEventListener`, because both
 * implementations support them the same way and replacing one drops the old listener: an
 * abandoned socket is detached by setting them to `null`.
 */
export interface WebSocketLike {
  readonly readyState: number;
  // `never` parameters: each implementation's own event type is assignable here.
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor: `globalThis.WebSocket` in browsers, `WebSocket` from `ws` in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** What the client reads from the events (a subset of both implementations' event objects). */
export interface MessageEventLike {
  data: unknown;
}
export interface CloseEventLike {
  code: number;
  reason: string;
}

/** `readyState` of an open socket (the same number in every implementation). */
export const SOCKET_OPEN = 1;

/**
 * The constructor to use: the injected one, else the global `WebSocket` (browsers, Node ≥ 22).
 * Node 20 has no global WebSocket: pass `WebSocket` from `ws`.
 */
export function resolveWebSocket(injected: WebSocketConstructor | undefined): WebSocketConstructor {
  const ctor = injected ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof ctor !== 'function') {
    throw new TypeError(
      'No WebSocket implementation: pass one as the `WebSocket` option (in Node: `import { WebSocket } from "ws"`).',
    );
  }
  return ctor;
}

/** `readyState` of a closed socket. */
const SOCKET_CLOSED = 3;

/**
 * Detaches the client's handlers from `socket` and closes it; resolves once it has closed.
 * Detaching first means nothing the old socket still delivers can reach the client.
 */
export function detachAndClose(socket: WebSocketLike, code: number, reason: string): Promise<void> {
  socket.onmessage = null;
  socket.onopen = null;
  socket.onerror = () => undefined;
  return new Promise((resolve) => {
    if (socket.readyState === SOCKET_CLOSED) return resolve();
    socket.onclose = () => resolve();
    try {
      socket.close(code, reason);
    } catch {
      resolve();
    }
  });
}

import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { Messages } from '../realtime.messages.js';

/** Handles an upgrade for a claimed path; the `'upgrade'` listeners never see it. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

type Emit = HttpServer['emit'];

interface UpgradeClaims {
  readonly handlers: Map<string, UpgradeHandler>;
  readonly original: Emit;
  readonly wrapper: Emit;
  /** Whether `emit` was the server's own property (rather than the prototype's) before. */
  readonly ownEmit: boolean;
}

// Symbol.for: two copies of the package in one process (a hoisting accident) share the claims.
const kClaims = Symbol.for('nest-realtime.upgrade-claims');
type ClaimedServer = HttpServer & { [kClaims]?: UpgradeClaims };

/** The path of a request URL, without its query. */
export function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Claims `path` for WebSocket upgrades on `server`: an upgrade for it goes to `handler` alone,
 * before and instead of the server's `'upgrade'` listeners; others reach them as before.
 *
 * Why not just one more `'upgrade'` listener: the listeners other upgrade owners add do not
 * leave foreign paths alone. `@nestjs/platform-ws`'s `WsAdapter` destroys at once every upgrade
 * whose path none of its gateways has, and engine.io (socket.io, `IoAdapter`) ends one 1 s later
 * if nothing was written yet (`destroyUpgrade`): whichever was added first, an upgrade for our
 * path would be cut by one of them (or, with a handshake check slower than a second, by
 * engine.io's timer). Wrapping the server's `emit` is the one place that sees the event before
 * every listener, whatever the order they were added in. Node emits `'upgrade'` only while the
 * server has at least one listener for it (otherwise it destroys the socket), so the caller
 * keeps a listener of its own as well.
 *
 * Returns the release function; when the last claim on a server is released the server's
 * `emit` is restored, unless someone wrapped it in turn since (the wrapper then stays, empty).
 */
export function claimUpgradePath(server: HttpServer, path: string, handler: UpgradeHandler): () => void {
  const host = server as ClaimedServer;
  const claims = host[kClaims] ?? install(host);
  if (claims.handlers.has(path)) {
    throw new Error(Messages.pathClaimed(path));
  }
  claims.handlers.set(path, handler);
  return () => {
    if (claims.handlers.get(path) !== handler) return;
    claims.handlers.delete(path);
    if (claims.handlers.size > 0 || host[kClaims] !== claims || host.emit !== claims.wrapper) return;
    if (claims.ownEmit) host.emit = claims.original;
    else delete (host as Partial<HttpServer>).emit;
    delete host[kClaims];
  };
}

function install(host: ClaimedServer): UpgradeClaims {
  const original = host.emit;
  const handlers = new Map<string, UpgradeHandler>();
  // One wrapper per server, whatever the number of claims: `this` is the server, as for any emit.
  const wrapper = function (this: HttpServer, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'upgrade') {
      const request = args[0] as IncomingMessage;
      const handler = handlers.get(pathOf(request.url));
      if (handler) {
        handler(request, args[1] as Duplex, args[2] as Buffer);
        return true;
      }
    }
    return Reflect.apply(original, this, [event, ...args]) as boolean;
  } as Emit;
  const claims: UpgradeClaims = { handlers, original, wrapper, ownEmit: Object.hasOwn(host, 'emit') };
  host.emit = wrapper;
  host[kClaims] = claims;
  return claims;
}

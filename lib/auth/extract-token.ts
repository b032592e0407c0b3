import type { IncomingMessage } from 'node:http';

/**
 * The handshake token: `Authorization: Bearer <jwt>` or the `token` query parameter (browsers
 * cannot set headers on a WebSocket). `undefined` when there is none.
 */
export function extractHandshakeToken(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match) return match[1];
  }
  const url = request.url ?? '';
  const query = url.indexOf('?');
  if (query === -1) return undefined;
  const token = new URLSearchParams(url.slice(query + 1)).get('token');
  return token ? token : undefined;
}

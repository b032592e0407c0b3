import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import type { TrustProxyPredicate } from '../options/trust-proxy.js';

/**
 * The client's address for an upgrade request: the TCP peer, or — when proxies are trusted —
 * the nearest address in `X-Forwarded-For` that is not a trusted proxy. Walking from the server
 * outwards (rather than taking the leftmost entry) is what keeps a client from choosing its own
 * address by sending the header itself.
 */
export function clientAddressOf(request: IncomingMessage, trust: TrustProxyPredicate | undefined): string | undefined {
  const peer = request.socket.remoteAddress;
  if (trust === undefined || peer === undefined) return peer;
  try {
    return proxyAddr(request, trust);
  } catch {
    // A header proxy-addr cannot parse: count the TCP peer, never an address the client wrote.
    return peer;
  }
}

import proxyAddr from 'proxy-addr';

/**
 * Which proxies in front of the app may say who the client is (`X-Forwarded-For`), with the
 * values Express's `trust proxy` setting takes, so one setting can serve both:
 *
 * - `false` (default): the TCP peer is the client; the header is ignored;
 * - `true`: every hop is trusted (the leftmost address of the header is the client) — only
 *   when the app is unreachable except through the proxy;
 * - a number `n`: the `n` hops nearest the server are proxies;
 * - addresses and subnets (`'10.0.0.0/8'`, `'loopback'`, `'uniquelocal'`, a list, or a
 *   comma-separated string): the hops at those addresses are proxies;
 * - a function `(address, hop) => boolean`.
 */
export type TrustProxy = boolean | number | string | readonly string[] | TrustProxyPredicate;

/** Whether the hop at `address`, `hop` steps from the server (0 = the TCP peer), is a trusted proxy. */
export type TrustProxyPredicate = (address: string, hop: number) => boolean;

/** Compiles a {@link TrustProxy} once, at start-up; `undefined` when no proxy is trusted. */
export function compileTrustProxy(trust: TrustProxy | undefined): TrustProxyPredicate | undefined {
  if (trust === undefined || trust === false) return undefined;
  if (trust === true) return () => true;
  if (typeof trust === 'function') return trust;
  if (typeof trust === 'number') {
    if (!Number.isInteger(trust) || trust < 0) throw new TypeError('a number of hops must be a non-negative integer');
    return (_address, hop) => hop < trust;
  }
  const list = typeof trust === 'string' ? trust.split(',').map((entry) => entry.trim()) : [...trust];
  // proxy-addr (the module Express uses) parses addresses and CIDR subnets and throws a
  // TypeError on a bad one.
  return proxyAddr.compile(list);
}

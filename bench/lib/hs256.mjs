import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { URLSearchParams } from 'node:url';

/**
 * The least a server can do to accept an HS256 token: one HMAC over `header.payload` compared in
 * constant time with the signature, the header's `alg` pinned to HS256 and `exp` required and in
 * the future. The key is built once. Returns the claims, or `undefined` for any refusal.
 */
export function hs256Verifier(secret) {
  const key = createSecretKey(Buffer.from(secret));
  return (token) => {
    if (typeof token !== 'string') return undefined;
    const dot1 = token.indexOf('.');
    const dot2 = token.indexOf('.', dot1 + 1);
    if (dot1 <= 0 || dot2 <= dot1 || token.indexOf('.', dot2 + 1) !== -1) return undefined;
    try {
      const header = JSON.parse(Buffer.from(token.slice(0, dot1), 'base64url').toString());
      if (header?.alg !== 'HS256') return undefined;
      const expected = createHmac('sha256', key).update(token.slice(0, dot2)).digest();
      const signature = Buffer.from(token.slice(dot2 + 1), 'base64url');
      if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return undefined;
      const claims = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString());
      if (typeof claims?.exp !== 'number' || claims.exp <= Date.now() / 1000) return undefined;
      return claims;
    } catch {
      return undefined;
    }
  };
}

/** The handshake token: `Authorization: Bearer <jwt>` or `?token=` (as the module reads it). */
export function handshakeToken(request) {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.startsWith('Bearer ')) return header.slice(7).trim();
  const query = request.url?.indexOf('?') ?? -1;
  return query === -1 ? undefined : (new URLSearchParams(request.url.slice(query + 1)).get('token') ?? undefined);
}

/** An HS256 token for `claims`, signed with one HMAC (a load generator's own tokens). */
export function hs256Sign(secret, claims) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

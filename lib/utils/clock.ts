let cachedMs = 0;
let cachedIso = '';

/**
 * `new Date().toISOString()` for "now", computed at most once per millisecond: every frame the
 * server sends carries a timestamp, and a fan-out sends thousands within one millisecond.
 */
export function isoNow(): string {
  const now = Date.now();
  if (now !== cachedMs) {
    cachedMs = now;
    cachedIso = new Date(now).toISOString();
  }
  return cachedIso;
}

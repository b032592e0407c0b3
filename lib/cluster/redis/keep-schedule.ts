/**
 * How often a keep is renewed: every ten `nodeTimeout`s, and not more often than every five
 * minutes. A keep only collects what a dead node leaves when nobody purges it, so rarely is
 * enough; renewing at every heartbeat (or every few) is what made idle Redis work grow with the
 * rooms and users of each node.
 */
const KEEP_RENEWAL_TIMEOUTS = 10;
const KEEP_RENEWAL_MIN = 300_000;
/** A keep lasts three renewal periods: two renewals in a row may fail or come late. */
const KEEP_RENEWALS = 3;

/**
 * When this node's keeps in Redis are due: the TTLs of keys that liveness does not depend on
 * (readers count a node's entries while the node is live in the node table), only garbage
 * collection for a dead node nobody purged. Each key is renewed once per renewal period, oldest
 * first, spread over the heartbeats. Used for the presence shares (`RedisPresence`) and the users'
 * online entries (`RedisNodeRegistry`).
 */
export class KeepSchedule<K> {
  /** Milliseconds between two renewals of a keep. */
  readonly renewal: number;
  /** Milliseconds a keep lasts (the TTL to set). */
  readonly ttl: number;
  /**
   * Keys → when (this process's clock) their keep was last set; in that order, oldest first (a
   * key is deleted and set again each time), so the keys due are read from the start.
   */
  private readonly kept = new Map<K, number>();

  constructor(
    nodeTimeout: number,
    private readonly heartbeatInterval: number,
  ) {
    this.renewal = Math.max(nodeTimeout * KEEP_RENEWAL_TIMEOUTS, KEEP_RENEWAL_MIN);
    this.ttl = this.renewal * KEEP_RENEWALS;
  }

  /** The key was written with a fresh keep: its renewal is due a period from now. */
  keptNow(key: K): void {
    this.kept.delete(key);
    this.kept.set(key, Date.now());
  }

  /** The key is no longer this node's to keep. */
  forget(key: K): void {
    this.kept.delete(key);
  }

  clear(): void {
    this.kept.clear();
  }

  /**
   * The keys whose keep is due, oldest first, at most twice the steady rate per heartbeat (keys ÷
   * heartbeats per renewal period): keys that were written together (a start, a rewrite) are
   * spread over the heartbeats instead of renewed in one burst, within half a period. Keys in
   * `skip` (being written anyway) are left out.
   */
  due(skip?: ReadonlySet<K>): K[] {
    const now = Date.now();
    const budget = Math.ceil((this.kept.size * 2 * this.heartbeatInterval) / this.renewal);
    const due: K[] = [];
    for (const [key, at] of this.kept) {
      if (due.length >= budget || now - at < this.renewal) break;
      if (!skip?.has(key)) due.push(key);
    }
    return due;
  }
}

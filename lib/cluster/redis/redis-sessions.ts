import type { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import type { ClusterChannels } from '../cluster-channels.js';

/** A session record not yet in Redis: whose session, and until when it is worth writing. */
interface PendingRecord {
  userId: string;
  /** When the record would expire had it landed at once (Date.now() + ttl at the save). */
  until: number;
  /** An attempt loop is running for it (see land). */
  landing: boolean;
}

/** First pause after a failed write, doubled after each failure up to MAX_BACKOFF. */
const FIRST_BACKOFF = 50;
const MAX_BACKOFF = 2000;
/**
 * Lookups of an owner tried before the answer is "could not ask" (see owner), and the time within
 * which a failed one is tried again: an error at once (a connection opening) is worth a second
 * try, a command that timed out (5 s) is not — the client waits for its `resume` meanwhile.
 */
const LOOKUP_ATTEMPTS = 3;
const LOOKUP_RETRY_WITHIN = 1000;

/**
 * Whose session is whose, in Redis, so that a `resume` on any node (even after the session's
 * node died) can refuse another user. One key per session, with the session's ttl.
 *
 * A record that could not be written is kept and written again until it lands: with a growing
 * backoff while Redis answers with errors (a Redis Cluster shard connection still opening, a
 * loaded server), and on the next 'ready' (see rewrite) while the connection is down. A lost
 * record would let another user resume the session on another node. It is dropped once its ttl
 * has run out (the session is gone by then), so what waits is bounded by the live sessions.
 */
export class RedisSessions {
  private readonly pending = new Map<string, PendingRecord>();

  constructor(
    private readonly channels: ClusterChannels,
    private readonly logger: Logger,
    /** The command connection, if any. */
    private readonly client: () => Redis | Cluster | undefined,
    /** Whether the adapter stopped (no more attempts then). */
    private readonly stopped: () => boolean,
  ) {}

  /** Records not written yet (for tests and leak checks). */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Records whose session this is, for `ttl` ms from now; a newer save of the session replaces it. */
  save(sessionId: string, userId: string, ttl: number): void {
    const record: PendingRecord = { userId, until: Date.now() + ttl, landing: false };
    this.pending.set(sessionId, record);
    void this.land(sessionId, record);
  }

  /** Redis is (back) up: writes every record still waiting, but those being written already. */
  rewrite(): void {
    this.dropExpired();
    for (const [sessionId, record] of this.pending) {
      if (!record.landing) void this.land(sessionId, record);
    }
  }

  /** Forgets the records whose ttl ran out unwritten (called periodically: an outage may be long). */
  dropExpired(now = Date.now()): void {
    for (const [sessionId, record] of this.pending) {
      if (record.until <= now) this.pending.delete(sessionId);
    }
  }

  /** The adapter stopped: nothing more is written. */
  clear(): void {
    this.pending.clear();
  }

  /**
   * The user a session belongs to; `undefined` if Redis knows no owner, or if Redis is not
   * connected (the node works alone then: see RoomResume). Rejects when Redis is connected but
   * could not be asked (errors or timeouts, after a few quick tries): "nobody" would be a guess.
   */
  async owner(sessionId: string): Promise<string | undefined> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const pub = this.client();
      if (this.stopped() || pub?.status !== 'ready') return undefined;
      try {
        return (await pub.get(this.channels.session(sessionId))) ?? undefined;
      } catch (error) {
        if (attempt >= LOOKUP_ATTEMPTS || Date.now() - started >= LOOKUP_RETRY_WITHIN) throw error;
      }
      await pause(FIRST_BACKOFF * attempt);
    }
  }

  /** Writes one record until it lands, is replaced or expires, the connection drops, or the adapter stops. */
  private async land(sessionId: string, record: PendingRecord): Promise<void> {
    record.landing = true;
    let lastError: Error | undefined;
    try {
      for (
        let backoff = FIRST_BACKOFF;
        this.pending.get(sessionId) === record;
        backoff = Math.min(backoff * 2, MAX_BACKOFF)
      ) {
        const left = record.until - Date.now();
        if (left <= 0) {
          this.pending.delete(sessionId);
          if (lastError) this.logger.warn(`could not record session ${sessionId} in Redis: ${lastError.message}`);
          return;
        }
        const pub = this.client();
        // Written on the next 'ready' instead (rewrite); nothing to do once stopped.
        if (this.stopped() || pub?.status !== 'ready') return;
        try {
          // The remaining ttl: the record expires when the session would have.
          await pub.set(this.channels.session(sessionId), record.userId, 'PX', left);
          if (this.pending.get(sessionId) === record) this.pending.delete(sessionId);
          return;
        } catch (error) {
          lastError = error as Error;
        }
        await pause(Math.min(backoff, Math.max(record.until - Date.now(), 0)));
      }
    } finally {
      record.landing = false;
    }
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

import type { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import type { ClusterChannels } from '../cluster-channels.js';

/**
 * Whose session is whose, in Redis, so that a `resume` on any node (even after the session's
 * node died) can refuse another user. One key per session, with the session's ttl.
 */
export class RedisSessions {
  constructor(
    private readonly channels: ClusterChannels,
    private readonly logger: Logger,
    /** The command connection, if any. */
    private readonly client: () => Redis | Cluster | undefined,
    /** Whether the adapter stopped (no more attempts then). */
    private readonly stopped: () => boolean,
  ) {}

  /**
   * Records whose session this is, trying again a few times: a write lost here would let another user
   * resume the session on another node. (A fresh Redis Cluster client fails, rather than queues,
   * a first command to a shard whose connection is still opening: seen as a flaky cluster test.)
   */
  async save(sessionId: string, userId: string, ttl: number): Promise<void> {
    const attempts = 4;
    for (let attempt = 1; !this.stopped() && this.client() !== undefined; attempt++) {
      const pub = this.client()!;
      if (pub.status === 'ready') {
        try {
          await pub.set(this.channels.session(sessionId), userId, 'PX', ttl);
          return;
        } catch (error) {
          if (attempt >= attempts) {
            this.logger.warn(`could not record session ${sessionId} in Redis: ${(error as Error).message}`);
            return;
          }
        }
      } else if (attempt >= attempts) {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt).unref());
    }
  }

  /** The user a session belongs to, if Redis knows the session (and can be asked now). */
  async owner(sessionId: string): Promise<string | undefined> {
    const pub = this.client();
    if (pub?.status !== 'ready') return undefined;
    try {
      return (await pub.get(this.channels.session(sessionId))) ?? undefined;
    } catch {
      return undefined;
    }
  }
}

import type { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import type { ClusterChannels } from '../cluster-channels.js';

/**
 * The subscriber connection's bookkeeping: the rooms this node receives traffic for (one
 * subscription per room with members here, none for the others), the SUBSCRIBEs still in flight,
 * and the node-wide channels (announcements, kicks). Classic pub/sub on one server (works with
 * Redis 6 too), sharded pub/sub (SSUBSCRIBE) on a Redis Cluster.
 */
export class RedisSubscriptions {
  /** Rooms this node receives traffic for. */
  readonly rooms = new Set<string>();
  /** SUBSCRIBEs of rooms in flight: a second member's join waits for the first one's. */
  private readonly subscribing = new Map<string, Promise<void>>();
  /** The node-wide channels (announcements, kicks) once subscribed; retried at each 'ready'. */
  private baseSubscription: Promise<void> | undefined;

  constructor(
    private readonly channels: ClusterChannels,
    private readonly sharded: boolean,
    private readonly logger: Logger,
    /** The subscriber connection, if any. */
    private readonly client: () => Redis | Cluster | undefined,
    /** Whether the adapter stopped (failures are expected then). */
    private readonly stopped: () => boolean,
  ) {}

  /** Receives the room's traffic; resolves once subscribed (at once while Redis is away). */
  async watch(roomId: string): Promise<void> {
    if (this.rooms.has(roomId)) return this.subscribing.get(roomId);
    this.rooms.add(roomId);
    const subscribed = this.subscribe(this.channels.room(roomId)).finally(() => {
      if (this.subscribing.get(roomId) === subscribed) this.subscribing.delete(roomId);
    });
    this.subscribing.set(roomId, subscribed);
    // Redis away: the SUBSCRIBE waits in the subscriber's queue; the join does not (members
    // here get the room's frames locally meanwhile, as in any outage).
    if (this.client()?.status === 'ready') await subscribed;
  }

  /** Stops receiving the room's traffic; false when it was not watched. */
  unwatch(roomId: string): boolean {
    if (!this.rooms.delete(roomId)) return false;
    // Commands on the subscriber connection run in order: a later watch's SUBSCRIBE comes
    // after this UNSUBSCRIBE, so churn cannot leave the room unsubscribed or subscribed twice.
    this.unsubscribe(this.channels.room(roomId));
    return true;
  }

  /**
   * The node-wide channels. Subscribed at start-up when Redis is there, otherwise when the
   * subscriber first becomes ready: a SUBSCRIBE that failed is not one ioredis re-subscribes.
   */
  subscribeBase(): Promise<void> {
    // One SUBSCRIBE each: in a Redis Cluster the two channels live in different slots.
    this.baseSubscription ??= Promise.all([
      this.trySubscribe(this.channels.all()),
      this.trySubscribe(this.channels.kick()),
    ]).then((done) => {
      if (!done.every(Boolean)) this.baseSubscription = undefined;
    });
    return this.baseSubscription;
  }

  async subscribe(channel: string): Promise<void> {
    await this.trySubscribe(channel);
  }

  /** True once subscribed; false (and a warning) when the SUBSCRIBE failed. */
  private async trySubscribe(channel: string): Promise<boolean> {
    try {
      if (this.sharded) await this.client()?.ssubscribe(channel);
      else await this.client()?.subscribe(channel);
      return true;
    } catch (error) {
      // Re-subscribed by ioredis when the connection comes back.
      if (!this.stopped()) {
        this.logger.warn(`subscribe failed (${(error as Error).message}); it is retried on reconnect`);
      }
      return false;
    }
  }

  unsubscribe(channel: string): void {
    const sub = this.client();
    const done = this.sharded ? sub?.sunsubscribe(channel) : sub?.unsubscribe(channel);
    done?.catch(() => undefined);
  }

  clear(): void {
    this.rooms.clear();
    this.subscribing.clear();
  }
}

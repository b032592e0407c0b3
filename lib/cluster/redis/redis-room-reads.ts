import type { Cluster, Redis } from 'ioredis';
import type { ClusterHistory, HistoryChunk, Sequenced } from '../cluster.adapter.js';
import type { ClusterChannels } from '../cluster-channels.js';
import { newEpoch } from '../../utils/epoch.js';
import { scripts } from './redis-scripts.js';

/** Milliseconds an epoch started by a join (not yet by a broadcast) is kept. */
const UNUSED_POSITION_TTL = 3_600_000;

/**
 * Reads of a room's position (`seq`/`epoch`) and history in Redis, each one atomic script
 * (redis-scripts.ts); `undefined` whenever Redis cannot answer now (the caller then falls back
 * to what this node knows).
 */
export class RedisRoomReads {
  constructor(
    private readonly channels: ClusterChannels,
    /** Milliseconds a room's position is kept after its last broadcast. */
    private readonly positionTtl: number,
    /** The command connection, if any. */
    private readonly client: () => Redis | Cluster | undefined,
  ) {}

  /** A room's current position, starting its epoch if it has none. */
  async position(roomId: string): Promise<Sequenced | undefined> {
    const pub = this.client();
    if (pub?.status !== 'ready') return undefined;
    try {
      const [seq, epoch] = (await scripts(pub).roomPosition(
        this.channels.seq(roomId),
        this.channels.epoch(roomId),
        newEpoch(),
        Math.min(this.positionTtl, UNUSED_POSITION_TTL),
      )) as [number, string];
      return { seq: Number(seq), epoch };
    } catch {
      return undefined;
    }
  }

  /** A room's history after `afterSeq` within `ttl` ms — all of it, or one `chunk`. */
  async history(
    roomId: string,
    afterSeq: number,
    ttl: number,
    chunk?: HistoryChunk,
  ): Promise<ClusterHistory | undefined> {
    const pub = this.client();
    if (pub?.status !== 'ready') return undefined;
    try {
      const reply = (await scripts(pub).roomHistory(
        this.channels.seq(roomId),
        this.channels.epoch(roomId),
        this.channels.history(roomId),
        afterSeq,
        ttl,
        chunk?.maxBytes ?? Number.MAX_SAFE_INTEGER,
        chunk?.toSeq ?? 0,
      )) as (string | number | null)[];
      // No epoch: the room has no history at all (never used, or lost): any position is stale.
      const epoch = typeof reply[1] === 'string' ? reply[1] : '';
      const entries: ClusterHistory['entries'] = [];
      for (let i = 2; i + 1 < reply.length; i += 2)
        entries.push({ seq: Number(reply[i]), frame: String(reply[i + 1]) });
      return { seq: Number(reply[0]), epoch, entries };
    } catch {
      return undefined;
    }
  }
}

import type { ClusterNode, ClusterOptions, RedisOptions } from 'ioredis';

/** Options of {@link RedisClusterAdapter}. */
export interface RedisClusterAdapterOptions {
  /**
   * `redis://host:port[/db]`. One of `url`, `redis.host`/`redis.port`/`redis.path` or `cluster`
   * is required: there is no default address (no silent fallback to 127.0.0.1:6379).
   */
  url?: string;
  /** ioredis options (merged over the URL). */
  redis?: RedisOptions;
  /**
   * A Redis Cluster instead of one server: its seed nodes. Rooms and users then use sharded
   * pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7), so fan-out traffic is spread over the shards.
   */
  cluster?: { nodes: ClusterNode[]; options?: ClusterOptions };
  /**
   * Prefix of every key and channel, so that several apps can share a Redis.
   * @default 'nest-realtime'
   */
  prefix?: string;
  /**
   * Milliseconds between node heartbeats.
   * @default 2000
   */
  heartbeatInterval?: number;
  /**
   * Milliseconds without a heartbeat after which a node counts as dead and its users are purged.
   * A node's shares of rooms' presence count while the node is live: the users of a node that
   * died without a goodbye are out of `presence_state` within this time of its last heartbeat
   * (as the other nodes see it at their next heartbeat), even when no node is left to purge it.
   * What it leaves in Redis expires: its user set and room counts after twice this time, its
   * users' online entries and its presence shares (garbage only, renewed every ten times this or
   * five minutes, whichever is longer) after three renewal periods.
   * @default 10000
   */
  nodeTimeout?: number;
  /**
   * Milliseconds a node that drained (a graceful shutdown that sent its clients `1012`) stays
   * live in the cluster after it stops (counted from the drain's start too, so that a node killed
   * before it could stop still hands over), its share of rooms' presence included. Its clients
   * resume on other nodes meanwhile: a user back within this time is announced neither leaving
   * nor arriving to the members of their rooms (at scale, two `presence_diff`s per mover to every
   * member of each of their rooms); only those not back by then are announced as leaving, when
   * another node purges the drained one (this plus `nodeTimeout`). The cost: a user who does not
   * come back stays in `presence_state` that long. Users' online entries and room counts are not
   * kept: they follow the connections. 0 keeps the drained node only for `nodeTimeout`.
   * @default 30000
   */
  handOverGrace?: number;
  /**
   * Milliseconds a room's `seq`/`epoch` are kept after its last broadcast. A client resuming
   * later is told `resume_failed` (the epoch is new); what bounds Redis memory for rooms that
   * are no longer used.
   * @default 86400000 (a day)
   */
  positionTtl?: number;
  /**
   * Fail start-up (`app.init()`/`listen()` rejects) when Redis cannot be reached then, instead of
   * starting degraded: rooms, users and announcements on this node only until Redis is back
   * (`/health` says `degraded`), with a warning in the log.
   * @default false
   */
  failFast?: boolean;
}

function unwrap(channel: string, prefix: string): string | undefined {
  if (!channel.startsWith(prefix) || channel.length < prefix.length + 3) return undefined;
  if (channel[prefix.length] !== '{' || !channel.endsWith('}')) return undefined;
  return channel.slice(prefix.length + 1, -1);
}

/**
 * Every Redis key and channel name of the cluster, from one place and one prefix. Room and user
 * ids are wrapped in `{...}` where two keys must live in the same Redis Cluster slot.
 */
export class ClusterChannels {
  private readonly roomPrefix: string;
  private readonly userPrefix: string;

  constructor(readonly prefix: string) {
    this.roomPrefix = `${prefix}:room:`;
    this.userPrefix = `${prefix}:user:`;
  }

  /** `prefix:room:{id}`: the braces put the channel in the slot of the room's keys (sharded pub/sub). */
  room(roomId: string): string {
    return `${this.roomPrefix}{${roomId}}`;
  }

  /** The room id of a room channel, or undefined. */
  roomOf(channel: string): string | undefined {
    return unwrap(channel, this.roomPrefix);
  }

  user(userId: string): string {
    return `${this.userPrefix}{${userId}}`;
  }

  userOf(channel: string): string | undefined {
    return unwrap(channel, this.userPrefix);
  }

  all(): string {
    return `${this.prefix}:all`;
  }

  kick(): string {
    return `${this.prefix}:kick`;
  }

  seq(roomId: string): string {
    return `${this.prefix}:seq:{${roomId}}`;
  }

  epoch(roomId: string): string {
    return `${this.prefix}:epoch:{${roomId}}`;
  }

  /** Stream of the room's latest frames, entry id `seq-0` (replay on resume). */
  history(roomId: string): string {
    return `${this.prefix}:history:{${roomId}}`;
  }

  /** Integer: bytes of the frames in the room's history stream (its byte cap is enforced on publish). */
  historyBytes(roomId: string): string {
    return `${this.prefix}:history-bytes:{${roomId}}`;
  }

  /** String: the user a session belongs to (checked on resume, on any node). */
  session(sessionId: string): string {
    return `${this.prefix}:session:${sessionId}`;
  }

  /** Hash: node id → 1, for each node where the user has a connection. */
  online(userId: string): string {
    return `${this.prefix}:online:${userId}`;
  }

  /**
   * Sorted set: node id → its last heartbeat, by Redis's clock (ms; see the heartbeat script). A
   * node renewed within `nodeTimeout` is live, and so are its shares of rooms' presence.
   */
  nodes(): string {
    return `${this.prefix}:nodes`;
  }

  /**
   * Hash: user id → `connections:username`, one node's share of a room's presence; it counts
   * while its node is live (see RedisPresence). In the room's slot. Its TTL is only garbage
   * collection for a dead node nobody purged, renewed rarely.
   */
  presenceShare(roomId: string, nodeId: string): string {
    return `${this.presenceSharePrefix(roomId)}${nodeId}`;
  }

  /** What a node id is appended to for its share of the room's presence (Lua builds the keys). */
  presenceSharePrefix(roomId: string): string {
    return `${this.prefix}:presence:{${roomId}}:node:`;
  }

  /**
   * Sorted set: the nodes holding a share of the room's presence → when (Redis clock, ms) each
   * last wrote it. Membership, not liveness (that is the node table's). Not the
   * `presence-nodes` set of earlier versions, which held per-share leases and dropped entries
   * past them: a new name, so that nodes of the two versions never remove each other's entries
   * during a rolling deploy.
   */
  presenceNodes(roomId: string): string {
    return `${this.prefix}:presence-members:{${roomId}}`;
  }

  /**
   * Set: rooms where a node has a share of the presence (to purge it when the node dies). Not
   * the `node-presence` hash of earlier versions: a new name, so that no node meets the other type.
   */
  nodePresence(nodeId: string): string {
    return `${this.prefix}:node-presence-rooms:${nodeId}`;
  }

  /** Hash: room id → this node's connections in it. */
  nodeRooms(nodeId: string): string {
    return `${this.prefix}:node-rooms:${nodeId}`;
  }

  /** Set: users with connections on a node (to purge them when the node dies). */
  nodeUsers(nodeId: string): string {
    return `${this.prefix}:node-users:${nodeId}`;
  }
}

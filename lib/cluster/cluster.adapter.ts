/** Where a cluster adapter hands what other nodes published: local delivery on this node. */
export interface ClusterHost {
  readonly nodeId: string;
  /** A room frame (serialized, with `seq` and `epoch`) of `type`, for this node's members of the room. */
  deliverRoom(roomId: string, frame: string, type: string, exceptConnectionId: string | undefined): void;
  /** A frame for this node's connections of a user. */
  deliverUser(userId: string, frame: string): void;
  /** A frame for every connection of this node. */
  deliverAll(frame: string): void;
  /** Close this node's connections of a user with 4003. */
  disconnectUser(userId: string, reason: string): void;
}

/** A room frame cut around the two values only the cluster knows: `prefix + seq + middle + epoch + suffix`. */
export interface RoomFrameParts {
  prefix: string;
  middle: string;
  suffix: string;
}

/** The result of sequencing a room broadcast. */
export interface Sequenced {
  seq: number;
  epoch: string;
}

/**
 * How RoomManager, private messages and announcements reach other nodes. The protocol (what is
 * published where, who ignores what) lives in the implementations' shared base; a transport only
 * moves strings. `InMemoryClusterAdapter` (one node) is the default; `RedisClusterAdapter`
 * spreads rooms and users over every node sharing a Redis.
 */
export abstract class ClusterAdapter {
  /** `off` without a shared backend; `up`/`down` for a backend that can fail. */
  abstract readonly status: 'up' | 'down' | 'off';

  /** Called once by the module before `start()`. */
  abstract attach(host: ClusterHost): void;

  abstract start(): Promise<void>;

  abstract stop(): Promise<void>;

  /**
   * Sequences a room broadcast cluster-wide and delivers it on every node with members, this one
   * included (through `host.deliverRoom`, in `seq` order). Resolves with the sequence, or
   * `undefined` when the cluster cannot take it now (the caller then delivers on this node only).
   */
  abstract publishRoom(
    roomId: string,
    parts: RoomFrameParts,
    exceptConnectionId?: string,
  ): Promise<Sequenced | undefined>;

  /** This node has (or no longer has) members in a room: receive (or stop receiving) its traffic. */
  abstract watchRoom(roomId: string): Promise<void>;
  abstract unwatchRoom(roomId: string): void;

  /** This node has (or no longer has) connections of a user. */
  abstract userArrived(userId: string): void;
  abstract userDeparted(userId: string): void;

  /** Sends a frame to the user's connections on the other nodes. */
  abstract publishUser(userId: string, frame: string): void;

  /** Sends a frame to every connection of the other nodes. */
  abstract publishAll(frame: string): void;

  /** Closes the user's connections on the other nodes with 4003. */
  abstract publishDisconnect(userId: string, reason: string): void;

  /** Whether the user has a connection on another node. */
  abstract isUserOnlineElsewhere(userId: string): Promise<boolean>;
}

/** The single-node adapter: nothing leaves this process. */
export class InMemoryClusterAdapter extends ClusterAdapter {
  readonly status = 'off' as const;
  attach(): void {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async publishRoom(): Promise<undefined> {
    return undefined;
  }
  async watchRoom(): Promise<void> {}
  unwatchRoom(): void {}
  userArrived(): void {}
  userDeparted(): void {}
  publishUser(): void {}
  publishAll(): void {}
  publishDisconnect(): void {}
  async isUserOnlineElsewhere(): Promise<boolean> {
    return false;
  }
}

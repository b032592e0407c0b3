import { Logger } from '@nestjs/common';
import { kickFrame, nodePublication, parsePublication, roomHeader } from './cluster-publication.js';
import type { ClusterAdapterLike } from '../interfaces/cluster-adapter-like.interface.js';

/** Where a cluster adapter hands what other nodes published: local delivery on this node. */
export interface ClusterHost {
  readonly nodeId: string;
  /** A room frame (serialized, with its `seq` and `epoch`), for this node's members of the room. */
  deliverRoom(roomId: string, frame: RoomFrame): void;
  /** A frame for this node's connections of a user. */
  deliverUser(userId: string, frame: string): void;
  /** A frame for every connection of this node. */
  deliverAll(frame: string): void;
  /** Close this node's connections of a user with 4003. */
  disconnectUser(userId: string, reason: string): void;
  /** A `presence_diff` frame for this node's members of the room (except one connection). */
  deliverPresence(roomId: string, frame: string, exceptConnectionId: string | undefined): void;
}

/**
 * A room frame for this node's members, checked, with its place in the room's sequence. One
 * object from the adapter to the members' sockets: the ordering that produces it already holds
 * it, so passing it along costs nothing.
 */
export interface RoomFrame {
  /** The frame as serialized by its publisher. */
  frame: string;
  /** Its message type (the conflation key of the `conflate` policy). */
  type: string;
  /** A connection id that does not get the frame, e.g. its sender. */
  except: string | undefined;
  seq: number;
  epoch: string;
  /** The publishing span's trace context (JSON, unchecked), when the publisher traced it. */
  trace?: string;
}

/** A user in a room's cluster-wide presence. */
export interface ClusterPresenceEntry {
  user_id: string;
  username: string;
  connections: number;
}

/** A room frame cut around the two values only the cluster knows: `prefix + seq + middle + epoch + suffix`. */
export interface RoomFrameParts {
  prefix: string;
  middle: string;
  suffix: string;
}

/**
 * Serializes a room broadcast once, as the parts around `seq` and `epoch`, which only the cluster
 * can fill in. Used by every publisher (nodes and the emitter) so that all frames have one shape.
 */
export function roomFrameParts(roomId: string, type: string, data: unknown, timestamp: string): RoomFrameParts {
  const body = data === undefined ? '' : `,"data":${JSON.stringify(data)}`;
  return {
    prefix: `{"type":${JSON.stringify(type)},"room":${JSON.stringify(roomId)},"seq":`,
    middle: ',"epoch":"',
    suffix: `"${body},"timestamp":"${timestamp}"}`,
  };
}

/** The result of sequencing a room broadcast. */
export interface Sequenced {
  seq: number;
  epoch: string;
}

/** How much of a room's broadcasts the cluster keeps for replay (the room's settings). */
export interface HistoryLimits {
  /** Entries kept (0: none). */
  size: number;
  /** Milliseconds an entry stays replayable. */
  ttl: number;
  /** Bytes of frames kept (the oldest go first). */
  maxBytes: number;
}

/** How much of a room's history one read returns: a replay reads it in chunks. */
export interface HistoryChunk {
  /** Bytes of frames per read (at least one entry is returned whatever its size). */
  maxBytes: number;
  /** Last `seq` to read (the position the replay goes up to). @default the room's current seq */
  toSeq?: number;
}

/** A room's position and the replayable frames after a given `seq`, as the cluster holds them. */
export interface ClusterHistory extends Sequenced {
  /**
   * Frames after the asked `seq`, oldest first, within the ttl; may not reach back to it, and
   * stops at the chunk's byte cap (then the next read starts after the last entry).
   */
  entries: { seq: number; frame: string }[];
}

/**
 * How RoomManager, private messages and announcements reach other nodes. The protocol lives
 * here, in the base (like socket.io-adapter's `ClusterAdapter`): what a publication holds
 * (cluster-publication.ts), who ignores what (a node's own users, announcements and kicks were
 * handled where they were published), and the checks of everything received before it is
 * delivered. A transport subclass moves the strings: it implements `transmit` and hands what it
 * receives to `receive`. `InMemoryClusterAdapter` (one node) is the default;
 * `RedisClusterAdapter` (`nest-realtime/redis`, lib/cluster/redis/) spreads rooms and users over
 * every node sharing a Redis.
 */
export abstract class ClusterAdapter implements ClusterAdapterLike {
  /** `off` without a shared backend; `up`/`down` for a backend that can fail. */
  abstract readonly status: 'up' | 'down' | 'off';

  protected readonly logger = new Logger('RealtimeCluster');
  /** Where what other nodes publish is delivered on this node (set by `attach`). */
  protected host!: ClusterHost;

  /** Called once by the module before `start()`. */
  attach(host: ClusterHost): void {
    this.host = host;
  }

  abstract start(): Promise<void>;

  abstract stop(): Promise<void>;

  /**
   * Sequences a room broadcast cluster-wide and delivers it on every node with members, this one
   * included (through `host.deliverRoom`, in `seq` order). Resolves with the sequence, or
   * `undefined` when the cluster cannot take it now (the caller then delivers on this node only).
   * `trace`: the publishing span's context, carried in the publication to every node's
   * `RoomFrame` (cluster-publication.ts); not part of the frame or its history.
   */
  abstract publishRoom(
    roomId: string,
    parts: RoomFrameParts,
    exceptConnectionId: string | undefined,
    history: HistoryLimits,
    trace?: string,
  ): Promise<Sequenced | undefined>;

  /** A room's current cluster-wide position (starting its epoch if it has none), or `undefined` when unavailable. */
  abstract roomPosition(roomId: string): Promise<Sequenced | undefined>;

  /**
   * A room's history after `afterSeq` within `ttl` ms — all of it, or one `chunk` — or
   * `undefined` when unavailable.
   */
  abstract roomHistory(
    roomId: string,
    afterSeq: number,
    ttl: number,
    chunk?: HistoryChunk,
  ): Promise<ClusterHistory | undefined>;

  /** Records which user a session belongs to, for `ttl` ms, so that any node can check a `resume`. */
  abstract saveSession(sessionId: string, userId: string, ttl: number): void;

  /** The user a session belongs to, if the cluster knows the session. */
  abstract sessionOwner(sessionId: string): Promise<string | undefined>;

  /** This node has (or no longer has) members in a room: receive (or stop receiving) its traffic. */
  abstract watchRoom(roomId: string): Promise<void>;
  abstract unwatchRoom(roomId: string): void;

  /** This node has (or no longer has) connections of a user. */
  abstract userArrived(userId: string): void;
  abstract userDeparted(userId: string): void;

  /** Sends a frame to the user's connections on the other nodes. */
  publishUser(userId: string, frame: string): void {
    this.transmit('U', userId, nodePublication('U', this.host.nodeId, frame));
  }

  /** Sends a frame to every connection of the other nodes. */
  publishAll(frame: string): void {
    this.transmit('A', undefined, nodePublication('A', this.host.nodeId, frame));
  }

  /** Closes the user's connections on the other nodes with 4003. */
  publishDisconnect(userId: string, reason: string): void {
    this.transmit('K', undefined, nodePublication('K', this.host.nodeId, kickFrame(userId, reason)));
  }

  /**
   * Transport: carries a user (`U`, to `userId`'s connections), announcement (`A`) or kick (`K`)
   * publication to the other nodes, best effort (a node that misses it is not told again).
   */
  protected abstract transmit(kind: 'U' | 'A' | 'K', userId: string | undefined, publication: string): void;

  /** The header a room frame is published with (the transport appends the frame). */
  protected roomFrameHeader(exceptConnectionId: string | undefined, trace?: string): string {
    return roomHeader('R', this.host.nodeId, exceptConnectionId, trace);
  }

  /** The header a room's `presence_diff` is published with (the transport appends the frame). */
  protected presenceHeader(exceptConnectionId: string | undefined): string {
    return roomHeader('P', this.host.nodeId, exceptConnectionId);
  }

  /** Transport: the room a channel (or subject) a publication arrived on carries, if any. */
  protected abstract roomOf(channel: string): string | undefined;

  /** Transport: the user a channel (or subject) a publication arrived on carries, if any. */
  protected abstract userOf(channel: string): string | undefined;

  /**
   * A checked room frame from the cluster (this node's own included), for the transport to
   * deliver in `seq` order through `host.deliverRoom`.
   */
  protected abstract receivedRoomFrame(roomId: string, frame: RoomFrame): void;

  /**
   * What a transport received on `channel`. Everything is validated before use: a malformed
   * publication is logged and dropped, never delivered and never thrown.
   */
  protected receive(channel: string, message: string): void {
    try {
      const { kind, origin, except, trace, frame } = parsePublication(message);
      if (kind === 'P') {
        const parsed = JSON.parse(frame) as { type?: unknown; room?: unknown };
        const roomId = this.roomOf(channel);
        if (parsed?.type !== 'presence_diff' || roomId === undefined || parsed.room !== roomId)
          throw new Error('bad presence frame');
        this.host.deliverPresence(roomId, frame, origin === this.host.nodeId ? except : undefined);
      } else if (kind === 'R') {
        const parsed = JSON.parse(frame) as { type?: unknown; room?: unknown; seq?: unknown; epoch?: unknown };
        const roomId = this.roomOf(channel);
        if (
          typeof parsed?.type !== 'string' ||
          roomId === undefined ||
          parsed.room !== roomId ||
          typeof parsed.seq !== 'number' ||
          typeof parsed.epoch !== 'string'
        )
          throw new Error('bad room frame');
        const { type, seq, epoch } = parsed;
        this.receivedRoomFrame(roomId, { frame, type, except, seq, epoch, trace });
      } else if (origin === this.host.nodeId) {
        // Users, announcements and kicks were already handled on this node when published.
      } else if (kind === 'U' || kind === 'A') {
        if (typeof (JSON.parse(frame) as { type?: unknown })?.type !== 'string') throw new Error('bad frame');
        if (kind === 'U') {
          const userId = this.userOf(channel);
          if (userId === undefined) throw new Error('bad user channel');
          this.host.deliverUser(userId, frame);
        } else {
          this.host.deliverAll(frame);
        }
      } else if (kind === 'K') {
        const kick = JSON.parse(frame) as { user_id?: unknown; reason?: unknown };
        if (typeof kick?.user_id !== 'string' || typeof kick.reason !== 'string') throw new Error('bad kick');
        this.host.disconnectUser(kick.user_id, kick.reason);
      } else {
        throw new Error(`unknown kind ${JSON.stringify(kind)}`);
      }
    } catch (error) {
      this.logger.warn(`dropped a malformed publication on ${channel}: ${(error as Error).message}`);
    }
  }

  /** Whether the user has a connection on another node. */
  abstract isUserOnlineElsewhere(userId: string): Promise<boolean>;

  /**
   * This node now has `connections` of the user's connections in the room (0: none). `diff` is
   * the `presence_diff` to publish to the room's members on every node (except
   * `exceptConnectionId`) when that makes the user arrive in or leave the room cluster-wide (a
   * tab on another node means it did not); undefined when nothing is to be announced.
   */
  abstract presenceChanged(
    roomId: string,
    userId: string,
    username: string,
    connections: number,
    diff: string | undefined,
    exceptConnectionId?: string,
  ): void;

  /** A connection joined (1) or left (-1) a room on this node: cluster-wide member counts. */
  abstract membersChanged(roomId: string, delta: 1 | -1): void;

  /** Cluster-wide presence of a room, or `undefined` when unavailable (then: this node's). */
  abstract presenceState(roomId: string): Promise<ClusterPresenceEntry[] | undefined>;

  /** Cluster-wide connection counts per room, or `undefined` when unavailable. */
  abstract roomCounts(): Promise<Map<string, number> | undefined>;
}

/** The single-node adapter: nothing leaves this process. */
export class InMemoryClusterAdapter extends ClusterAdapter {
  readonly status = 'off' as const;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async publishRoom(): Promise<undefined> {
    return undefined;
  }
  async roomPosition(): Promise<undefined> {
    return undefined;
  }
  async roomHistory(): Promise<undefined> {
    return undefined;
  }
  saveSession(): void {}
  async sessionOwner(): Promise<undefined> {
    return undefined;
  }
  async watchRoom(): Promise<void> {}
  unwatchRoom(): void {}
  userArrived(): void {}
  userDeparted(): void {}
  // Nothing leaves this process: the publisher already delivered on this node, so there is
  // nothing to encode either.
  override publishUser(): void {}
  override publishAll(): void {}
  override publishDisconnect(): void {}
  protected transmit(): void {}
  protected roomOf(): undefined {
    return undefined;
  }
  protected userOf(): undefined {
    return undefined;
  }
  /** Never called: nothing is received from other nodes. */
  protected receivedRoomFrame(): void {}
  async isUserOnlineElsewhere(): Promise<boolean> {
    return false;
  }
  presenceChanged(): void {}
  membersChanged(): void {}
  async presenceState(): Promise<undefined> {
    return undefined;
  }
  async roomCounts(): Promise<undefined> {
    return undefined;
  }
}

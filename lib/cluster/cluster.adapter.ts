import { Logger } from '@nestjs/common';
import { kickFrame, nodePublication, parsePublication, roomHeader } from './cluster-publication.js';
import type { ClusterAdapterLike } from '../interfaces/cluster-adapter-like.interface.js';
import type { ClusterHost, RoomFrame } from './cluster-host.js';
import { deliverRoomLocally } from './local-room-delivery.js';
import type { LocalSequencer } from './local-sequencer.js';
import type { BroadcastSequenced, HistoryLimits, RoomBroadcast } from './room-broadcast.js';
import type { RoomFrameParts, Sequenced } from './room-frame-parts.js';

// The adapter's whole contract, re-exported: its users and subclasses import it from here.
export { roomFrameParts, type RoomFrameParts, type Sequenced } from './room-frame-parts.js';
export type { LocalFrame, LocalSequencer } from './local-sequencer.js';
export type { ClusterCounters, ClusterHost, RoomFrame } from './cluster-host.js';
export type { BroadcastSequenced, HistoryLimits, RoomBroadcast } from './room-broadcast.js';

/** A user in a room's cluster-wide presence. */
export interface ClusterPresenceEntry {
  user_id: string;
  username: string;
  connections: number;
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
 * handled where they were published), the checks of everything received before it is
 * delivered, the node's cluster counters, and what a node does with a room broadcast the
 * cluster cannot take: number it itself (a {@link LocalSequencer}) and deliver it through the
 * same `host.deliverRoom` as a frame from the cluster (local-room-delivery.ts, which the
 * in-memory adapter uses for every broadcast). A transport subclass moves the strings:
 * it implements `transmit` and `publishRoom`, and hands what it receives to `receive`.
 * `InMemoryClusterAdapter` (one node: every room frame numbered and delivered here) is the
 * default; `RedisClusterAdapter` (`nest-realtime/redis`, lib/cluster/redis/) spreads rooms and
 * users over every node sharing a Redis.
 */
export abstract class ClusterAdapter implements ClusterAdapterLike {
  /** `off` without a shared backend; `up`/`down` for a backend that can fail. */
  abstract readonly status: 'up' | 'down' | 'off';

  protected readonly logger = new Logger('RealtimeCluster');
  /** Where what other nodes publish is delivered on this node (set by `attach`). */
  protected host!: ClusterHost;
  /** Numbers and keeps room frames when this node delivers them alone (set by `attach`). */
  protected local: LocalSequencer | undefined;
  /** Per room, the latest broadcast still on its way through the transport (see broadcastRoom). */
  private readonly publishing = new Map<string, Promise<BroadcastSequenced>>();

  /**
   * Called once by the module before `start()`: `host` gets what the cluster delivers on this
   * node, `local` numbers the room frames this node delivers alone (a publisher that serves no
   * connections, such as the emitter, has none).
   */
  attach(host: ClusterHost, local?: LocalSequencer): void {
    this.host = host;
    this.local = local;
  }

  abstract start(): Promise<void>;

  abstract stop(): Promise<void>;

  /**
   * The node is draining: every connection gets 1012 and resumes on another node, so its members'
   * departures from now on are moves, not leaves (RoomManager does not report them). An adapter
   * that shares presence keeps this node's shares when it stops, for the other nodes to purge
   * once it misses its heartbeats: a user who resumed elsewhere meanwhile is neither announced as
   * leaving nor as arriving; one who did not come back leaves then. Nothing to do on one node.
   */
  handOver(): void {}

  /**
   * Sequences a room broadcast and delivers it on every node with members, this one included.
   * Through the transport (`publishRoom`), every node delivers it from the cluster's stream, in
   * `seq` order. When the transport cannot take it (its backend is unreachable), this node
   * delivers it alone, numbered by the local sequencer under an epoch of its own; an earlier
   * broadcast to the room may still be on its way to failing (a command in flight when the
   * backend went away): it goes first, so local members keep the order in which this node
   * broadcast. Without a shared backend (the in-memory adapter) it is delivered before this
   * returns.
   */
  broadcastRoom(roomId: string, broadcast: RoomBroadcast): BroadcastSequenced | Promise<BroadcastSequenced> {
    const previous = this.publishing.get(roomId);
    const current = this.publishOrDeliverHere(roomId, broadcast, previous);
    this.publishing.set(roomId, current);
    return current.finally(() => {
      if (this.publishing.get(roomId) === current) this.publishing.delete(roomId);
    });
  }

  private async publishOrDeliverHere(
    roomId: string,
    broadcast: RoomBroadcast,
    previous: Promise<unknown> | undefined,
  ): Promise<BroadcastSequenced> {
    this.host.counters.clusterPublished++;
    const sequenced = await this.publishRoom(
      roomId,
      broadcast.parts,
      broadcast.except,
      broadcast.history,
      broadcast.trace?.(),
    );
    if (sequenced) return { seq: sequenced.seq, epoch: sequenced.epoch, delivered: undefined };
    if (previous !== undefined) await previous.catch(() => undefined);
    return this.deliverHere(roomId, broadcast);
  }

  /**
   * Numbers a room broadcast on this node and writes it to this node's members at once
   * (local-room-delivery.ts): the in-memory adapter's every broadcast, the fallback's here.
   */
  protected deliverHere(roomId: string, broadcast: RoomBroadcast): BroadcastSequenced {
    return deliverRoomLocally(this.host, this.local, roomId, broadcast);
  }

  /**
   * Transport: sequences a room frame cluster-wide and delivers it on every node with members,
   * this one included (through `deliverRoomFrame`, in `seq` order). Resolves with the sequence,
   * or `undefined` when the cluster cannot take it now (`broadcastRoom` then delivers on this
   * node only; a publisher without members, such as the emitter, reports the failure).
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

  /**
   * A room's position when this node alone numbers its frames (no shared backend), known at once
   * without asking anyone; `undefined` when the cluster numbers them (ask `roomPosition`).
   */
  localPosition(_roomId: string): Sequenced | undefined {
    return undefined;
  }

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

  /**
   * The user a session belongs to; `undefined` if the cluster knows no owner, or if there is no
   * cluster to ask now (this node works alone: a backend that is down). Rejects when the cluster
   * is up but could not be asked: a caller must not take that for "nobody".
   */
  abstract sessionOwner(sessionId: string): Promise<string | undefined>;

  /** This node has (or no longer has) members in a room: receive (or stop receiving) its traffic. */
  abstract watchRoom(roomId: string): Promise<void>;
  abstract unwatchRoom(roomId: string): void;

  /** This node has (or no longer has) connections of a user. */
  abstract userArrived(userId: string): void;
  abstract userDeparted(userId: string): void;

  /** Sends a frame to the user's connections on the other nodes. */
  publishUser(userId: string, frame: string): void {
    this.host.counters.clusterPublished++;
    this.transmit('U', userId, nodePublication('U', this.host.nodeId, frame));
  }

  /** Sends a frame to every connection of the other nodes. */
  publishAll(frame: string): void {
    this.host.counters.clusterPublished++;
    this.transmit('A', undefined, nodePublication('A', this.host.nodeId, frame));
  }

  /** Closes the user's connections on the other nodes with 4003. */
  publishDisconnect(userId: string, reason: string): void {
    this.host.counters.clusterPublished++;
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
   * deliver in `seq` order through `deliverRoomFrame`.
   */
  protected abstract receivedRoomFrame(roomId: string, frame: RoomFrame): void;

  /** Delivers a room frame of the cluster's stream to this node's members (and counts it received). */
  protected deliverRoomFrame(roomId: string, frame: RoomFrame): void {
    this.host.counters.clusterReceived++;
    this.host.deliverRoom(roomId, frame);
  }

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
        this.host.counters.clusterReceived++;
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
          this.host.counters.clusterReceived++;
          this.host.deliverUser(userId, frame);
        } else {
          this.host.counters.clusterReceived++;
          this.host.deliverAll(frame);
        }
      } else if (kind === 'K') {
        const kick = JSON.parse(frame) as { user_id?: unknown; reason?: unknown };
        if (typeof kick?.user_id !== 'string' || typeof kick.reason !== 'string') throw new Error('bad kick');
        this.host.counters.clusterReceived++;
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

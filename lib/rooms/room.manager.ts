import { Inject, Injectable } from '@nestjs/common';
import { ClusterAdapter, type Sequenced } from '../cluster/cluster.adapter.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { RealtimeStats, type ServerStats } from '../stats/realtime-stats.js';
import { RealtimeException, RealtimeForbiddenException } from '../errors/realtime.exception.js';
import { EventPublisher } from '../events/event.publisher.js';
import { ReplayGate } from '../history/replay-gate.js';
import type { ReplayLimiter } from '../history/replay-limiter.js';
import { RoomHistoryService } from '../history/room-history.service.js';
import type { RoomSequencer } from '../history/room-sequencer.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import type { PresenceEntry } from '../presence/presence-tracker.js';
import { RoomPresence } from '../presence/room-presence.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { SessionManager } from '../sessions/session.manager.js';
import { JoinPipeline } from './join.pipeline.js';
import { type BroadcastOptions, type BroadcastResult, RoomBroadcaster } from './room-broadcaster.js';
import { assertValidRoomId } from './room-id.js';
import { RoomRegistry } from './room-registry.js';
import { Room } from './room.js';
import type { RoomJoinedData, RoomLeftData } from '../protocol/server-frames.js';

/** A room as listed by {@link RoomManager.list}. */
export interface RoomInfo {
  id: string;
  client_count: number;
  metadata: Record<string, unknown>;
}

export type { BroadcastOptions, BroadcastResult };

/** Options of {@link RoomManager.join}. */
export interface JoinOptions {
  /** Request id to repeat in `room_joined`. */
  requestId?: string | number;
  /** Skip the join policy and guards (server-side joins). @default false */
  bypassPolicy?: boolean;
}

/**
 * Rooms: membership, presence and broadcast. Injectable anywhere (a REST controller, a job,
 * another module): `rooms.broadcast('general', 'chat_message', data)`.
 *
 * Every room broadcast carries `room`, `seq` (per room, gap-free) and `epoch` at the envelope
 * level and is serialized once for all members. Empty rooms are removed; a closing connection
 * leaves all its rooms. `presence_diff` goes to the members when a *user* arrives or leaves
 * (not for each of their tabs).
 *
 * This class owns membership. Its helpers are providers of their own: who is present (per user)
 * is RoomPresence's (and, in a cluster, the adapter's), sending is the RoomBroadcaster's, and
 * sequence numbers, history, replays and the gates of joins still replaying are history's
 * (RoomHistoryService). The live rooms are the RoomRegistry they share.
 */
@Injectable()
export class RoomManager {
  /** Set by handOver: departures by disconnect are moves to other nodes. */
  private handingOver = false;

  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly rooms: RoomRegistry,
    private readonly history: RoomHistoryService,
    private readonly broadcaster: RoomBroadcaster,
    private readonly roomPresence: RoomPresence,
    private readonly sessions: SessionManager,
    private readonly events: EventPublisher,
    private readonly joinPipeline: JoinPipeline,
    private readonly statsCounters: RealtimeStats,
    private readonly cluster: ClusterAdapter,
  ) {}

  /**
   * The node is draining (RealtimeServer sends every connection 1012): from now on a connection
   * that goes is moving to another node, where it resumes its rooms, so its departures are not
   * presence changes (see ClusterAdapter.handOver).
   */
  handOver(): void {
    this.handingOver = true;
    this.cluster.handOver();
  }

  /** @internal History's sequencer (kept here for the tests and tools that read it through RoomManager). */
  get sequencer(): RoomSequencer {
    return this.history.sequencer;
  }

  /** @internal Replays running at once on this node (`history.maxConcurrentReplays`). */
  get replays(): ReplayLimiter {
    return this.history.replays;
  }

  /** A snapshot of this node's totals (the original design's `ServerStats`). */
  stats(): ServerStats {
    return this.statsCounters.snapshot();
  }

  /** Rooms with at least one member on this node. */
  get count(): number {
    return this.rooms.size;
  }

  has(roomId: string): boolean {
    return this.rooms.has(roomId);
  }

  roomIds(): IterableIterator<string> {
    return this.rooms.keys();
  }

  list(): RoomInfo[] {
    return [...this.rooms.values()].map((room) => ({ id: room.id, client_count: room.size, metadata: room.metadata }));
  }

  get(roomId: string): RoomInfo | undefined {
    const room = this.rooms.get(roomId);
    return room && { id: room.id, client_count: room.size, metadata: room.metadata };
  }

  /** Members of a room on this node. */
  members(roomId: string): RealtimeConnection[] {
    return [...(this.rooms.get(roomId)?.members ?? [])];
  }

  /** Connections of a room on this node. */
  clientCount(roomId: string): number {
    return this.rooms.get(roomId)?.size ?? 0;
  }

  isMember(connection: RealtimeConnection, roomId: string): boolean {
    return this.rooms.get(roomId)?.members.has(connection) ?? false;
  }

  /** Users in a room with their connection counts (authenticated members only). */
  presence(roomId: string): PresenceEntry[] {
    return this.roomPresence.state(roomId);
  }

  /** Presence of a room across the cluster (this node's alone without a cluster or while it is down). */
  async clusterPresence(roomId: string): Promise<PresenceEntry[]> {
    return (await this.cluster.presenceState(roomId)) ?? this.presence(roomId);
  }

  /** Rooms with their cluster-wide connection counts (this node's alone without a cluster). */
  async clusterList(): Promise<RoomInfo[]> {
    const counts = await this.cluster.roomCounts();
    if (!counts) return this.list();
    return [...counts].map(([id, client_count]) => ({
      id,
      client_count,
      metadata: this.rooms.get(id)?.metadata ?? {},
    }));
  }

  /** Forgets idle sequences of rooms without members (called by the cleanup pass). */
  purgeIdleSequences(now: number): number {
    return this.history.purgeIdle(now, (roomId) => this.rooms.has(roomId));
  }

  /** Whether presence is on for a live room (its settings). */
  presenceEnabled(roomId: string): boolean {
    return this.rooms.get(roomId)?.settings.presence ?? false;
  }

  getMetadata(roomId: string): Record<string, unknown> | undefined {
    return this.rooms.get(roomId)?.metadata;
  }

  /** Replaces a live room's metadata; false when the room does not exist on this node. */
  setMetadata(roomId: string, metadata: Record<string, unknown>): boolean {
    const room = this.rooms.get(roomId);
    if (!room) return false;
    room.metadata = { ...metadata };
    return true;
  }

  /** Throws `BAD_REQUEST` for an invalid room id. */
  assertRoomId(roomId: unknown): asserts roomId is string {
    assertValidRoomId(roomId);
  }

  /**
   * Joins a room after the join policy and guards (`FORBIDDEN` when refused) and sends the
   * connection `room_joined { room_id, client_count, seq, epoch }` — before any broadcast that
   * follows the join. `seq`/`epoch` are the room's position at the join: the first broadcast the
   * connection gets is `seq + 1`, which is what a client resumes from. Joining a room twice is
   * harmless. Resolves with the room's client count.
   */
  async join(connection: RealtimeConnection, roomId: string, options: JoinOptions = {}): Promise<number> {
    if (!(await this.admit(connection, roomId, options.bypassPolicy ?? false))) return this.clientCount(roomId);
    const known = this.history.knownPosition(roomId);
    if (known !== undefined || this.isMember(connection, roomId)) {
      return this.addMember(connection, roomId, options.requestId, known);
    }
    // The room's position has to come from the cluster: the member is added first, behind a
    // gate that holds the room's frames until the position is known, so that nothing published
    // meanwhile is either missed or counted as seen.
    const gate = new ReplayGate();
    this.addMember(connection, roomId, undefined, undefined, true, gate);
    await this.history.openAtCurrentPosition(connection, roomId, gate, options.requestId);
    return this.clientCount(roomId);
  }

  /**
   * The first half of a `resume` of one room: joins it (policy and guards re-checked) behind a
   * gate that holds the room's live frames for the connection until its replay is done
   * (RoomHistoryService's `replayRoom`, then `releaseGate`). Resolves with the gate, `'member'`
   * when the connection is in the room already (live frames reach it: nothing to replay),
   * `undefined` when it closed; throws `FORBIDDEN` when the join is refused. History's
   * ResumableRooms (bound to this class in realtime.providers.ts).
   */
  async resumeRoom(connection: RealtimeConnection, roomId: string): Promise<ReplayGate | 'member' | undefined> {
    if (this.isMember(connection, roomId)) return 'member';
    if (!(await this.admit(connection, roomId, false))) return undefined;
    if (this.isMember(connection, roomId)) return 'member';
    const gate = new ReplayGate();
    this.addMember(connection, roomId, undefined, undefined, true, gate);
    return gate;
  }

  /**
   * Checks a join (room id, policy and guards, room limit) and makes this node receive the room's
   * traffic. False when the connection closed meanwhile.
   */
  private async admit(connection: RealtimeConnection, roomId: string, bypassPolicy: boolean): Promise<boolean> {
    try {
      this.assertRoomId(roomId);
      if (!bypassPolicy) await this.joinPipeline.authorize(connection, roomId);
      if (!connection.rooms.has(roomId) && connection.rooms.size >= this.options.maxRoomsPerConnection) {
        throw new RealtimeForbiddenException(
          `a connection may be in at most ${this.options.maxRoomsPerConnection} rooms`,
        );
      }
    } catch (error) {
      this.statsCounters.countRoomOperation(
        'join',
        error instanceof RealtimeException ? error.code.toLowerCase() : 'error',
      );
      throw error;
    }
    // A node that has no member of the room yet starts receiving its traffic before the member
    // is added: nothing published after room_joined can be missed.
    if (!this.rooms.has(roomId)) await this.cluster.watchRoom(roomId);
    if (!connection.isOpen) {
      if (!this.rooms.has(roomId)) this.cluster.unwatchRoom(roomId);
      return false;
    }
    this.statsCounters.countRoomOperation('join', 'success');
    return true;
  }

  /**
   * Adds the membership and, unless `silent`, sends `room_joined` in the same tick: no broadcast
   * can reach the connection between the two.
   */
  private addMember(
    connection: RealtimeConnection,
    roomId: string,
    requestId: string | number | undefined,
    position: Sequenced | undefined,
    silent = false,
    gate?: ReplayGate,
  ): number {
    let room = this.rooms.get(roomId);
    if (!room) {
      this.rooms.set(roomId, (room = new Room(roomId, this.options.rooms(roomId))));
      this.statsCounters.activeRooms++;
    }
    const joined = {
      type: 'room_joined',
      id: requestId,
      data: { room_id: roomId, client_count: 0, seq: position?.seq, epoch: position?.epoch } satisfies RoomJoinedData,
    };
    if (room.members.has(connection)) {
      joined.data.client_count = room.size;
      if (room.gates?.has(connection)) {
        // Its replay is under way: the frames before and after the room's latest are still to come.
        joined.data.seq = undefined;
        joined.data.epoch = undefined;
      }
      if (!silent) connection.send(joined);
      return room.size;
    }
    if (gate !== undefined) (room.gates ??= new Map()).set(connection, gate);
    room.add(connection);
    connection.addRoom(roomId);
    this.sessions.get(connection.sessionId)?.addRoom(roomId);
    joined.data.client_count = room.size;
    if (!silent) connection.send(joined);
    this.cluster.membersChanged(roomId, 1);
    this.roomPresence.arrived(room, connection);
    if (this.events.isObserved('room.joined')) {
      this.events.emit('room.joined', { connection, roomId, clientCount: room.size });
    }
    return room.size;
  }

  /**
   * Leaves a room (no-op when not a member); `room_left` is sent for `reason: 'leave'`.
   * Returns whether the connection was a member.
   */
  leave(
    connection: RealtimeConnection,
    roomId: string,
    reason: 'leave' | 'disconnect' | 'policy' | 'kick' = 'leave',
    requestId?: string | number,
  ): boolean {
    const room = this.rooms.get(roomId);
    const wasMember = room !== undefined && this.removeMember(room, connection, connection.userId, reason);
    if (reason === 'leave') this.statsCounters.countRoomOperation('leave', wasMember ? 'success' : 'not_member');
    if (reason !== 'disconnect') {
      this.sessions.get(connection.sessionId)?.removeRoom(roomId);
      connection.send({ type: 'room_left', id: requestId, data: { room_id: roomId } satisfies RoomLeftData });
    }
    return wasMember;
  }

  /** Leaves every room (on disconnect the session keeps its room list for a resume). */
  leaveAll(connection: RealtimeConnection, reason: 'disconnect' | 'kick' = 'disconnect'): void {
    for (const roomId of [...connection.rooms]) {
      const room = this.rooms.get(roomId);
      if (room) this.removeMember(room, connection, connection.userId, reason);
      else connection.removeRoom(roomId);
    }
  }

  private removeMember(
    room: Room,
    connection: RealtimeConnection,
    userId: string | undefined,
    reason: 'leave' | 'disconnect' | 'policy' | 'kick',
  ): boolean {
    if (!room.remove(connection)) return false;
    connection.removeRoom(room.id);
    this.cluster.membersChanged(room.id, -1);
    if (this.handingOver && reason === 'disconnect') this.roomPresence.movedAway(room, userId);
    else this.roomPresence.departed(room, userId);
    if (room.size === 0) {
      this.history.sequencer.membersLeft(room.id, Date.now());
      this.rooms.delete(room.id);
      this.statsCounters.activeRooms--;
      this.cluster.unwatchRoom(room.id);
    }
    if (this.events.isObserved('room.left')) this.events.emit('room.left', { connection, roomId: room.id, reason });
    return true;
  }

  /**
   * After a connection re-authenticated as another user: its presence moves to the new user and
   * each room is re-checked against the join policy; a refused room is left with `room_left`.
   */
  async recheckMemberships(connection: RealtimeConnection, previousUserId: string | undefined): Promise<void> {
    for (const roomId of [...connection.rooms]) {
      let allowed = true;
      try {
        await this.joinPipeline.authorize(connection, roomId);
      } catch {
        allowed = false;
      }
      if (!connection.isOpen) return;
      const room = this.rooms.get(roomId);
      if (!room?.members.has(connection)) continue;
      if (allowed) {
        this.moveMemberToUser(room, connection, previousUserId);
      } else {
        this.removeMember(room, connection, previousUserId, 'policy');
        this.sessions.get(connection.sessionId)?.removeRoom(roomId);
        connection.send({ type: 'room_left', data: { room_id: roomId, reason: 'forbidden' } satisfies RoomLeftData });
      }
    }
  }

  /**
   * A member now acts as another user: its presence moves to that user, while its membership
   * (and any replay gate) stays as it is, so no broadcast can slip past it meanwhile.
   */
  private moveMemberToUser(room: Room, connection: RealtimeConnection, previousUserId: string | undefined): void {
    if (previousUserId === connection.userId) return;
    this.roomPresence.departed(room, previousUserId);
    this.roomPresence.arrived(room, connection);
  }

  /**
   * Broadcasts `{ type, room, seq, epoch, data }` to every member of the room on this node,
   * serialized once.
   */
  broadcast(roomId: string, type: string, data: unknown, options: BroadcastOptions = {}): Promise<BroadcastResult> {
    // Not `async` itself: the broadcaster's is, so every failure is still a rejection.
    return this.broadcaster.broadcast(roomId, type, data, options);
  }

  /** Sends `{ type, data }` to every connection of a user, on every node; returns how many on this one. */
  sendToUser(userId: string, type: string, data: unknown): number {
    return this.broadcaster.sendToUser(userId, type, data);
  }

  /** Whether a user has a connection on any node. */
  isUserOnline(userId: string): Promise<boolean> {
    return this.broadcaster.isUserOnline(userId);
  }

  /** Sends `{ type, data }` to every connection on every node; returns how many on this one. */
  sendToAll(type: string, data: unknown): number {
    return this.broadcaster.sendToAll(type, data);
  }
}

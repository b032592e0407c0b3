import { Inject, Injectable } from '@nestjs/common';
import { BroadcastEngine } from '../broadcast/broadcast.engine.js';
import { type OutboundFrame, prepareFrame } from '../broadcast/outbound-frame.js';
import { ClusterAdapter, type Sequenced } from '../cluster/cluster.adapter.js';
import { closeSlowConsumer } from '../connections/close-slow-consumer.js';
import { ConnectionManager } from '../connections/connection.manager.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { RealtimeStats, type ServerStats } from '../stats/realtime-stats.js';
import { waitForDrain } from '../connections/wait-for-drain.js';
import { RealtimeException, RealtimeForbiddenException } from '../errors/realtime.exception.js';
import { EventPublisher } from '../events/event.publisher.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { SessionManager } from '../sessions/session.manager.js';
import { JoinPipeline } from './join.pipeline.js';
import { assertValidRoomId } from './room-id.js';
import { ReplayGate } from './replay-gate.js';
import { ReplayLimiter } from './replay-limiter.js';
import { REPLAY_ABANDONED, type ReplayResult, type ReplaySink, RoomReplay } from './room-replay.js';
import type { PresenceEntry } from '../presence/presence-tracker.js';
import { RoomPresence } from '../presence/room-presence.js';
import { Room } from './room.js';
import { type BroadcastOptions, type BroadcastResult, RoomBroadcaster } from './room-broadcaster.js';
import { RoomDelivery } from './room-delivery.js';
import { RoomSequencer } from './room-sequencer.js';
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
 * This class owns membership; who is present (per user) is counted by a PresenceTracker and,
 * in a cluster, by the adapter. Sending is delegated to a RoomBroadcaster and the write to a
 * room's members (through replay gates) to a RoomDelivery, both sharing its `rooms` and sequencer.
 */
@Injectable()
export class RoomManager {
  private readonly rooms = new Map<string, Room>();
  /** Who is present in this node's rooms, and the announcements of arrivals and departures. */
  private readonly roomPresence: RoomPresence;
  /** Sequences outlive membership for as long as a session may come back to ask for them. */
  readonly sequencer: RoomSequencer;
  private readonly replay: RoomReplay;
  /** Replays running at once on this node (`history.maxConcurrentReplays`). */
  readonly replays: ReplayLimiter;
  private readonly delivery: RoomDelivery;
  private readonly broadcaster: RoomBroadcaster;

  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly engine: BroadcastEngine,
    private readonly connections: ConnectionManager,
    private readonly sessions: SessionManager,
    private readonly events: EventPublisher,
    private readonly joinPipeline: JoinPipeline,
    private readonly statsCounters: RealtimeStats,
    private readonly cluster: ClusterAdapter,
  ) {
    this.sequencer = new RoomSequencer(Math.max(options.sessionTtl, 60_000), options.history.maxBytes, statsCounters);
    this.replay = new RoomReplay(this.sequencer, cluster, options.history.replayChunkBytes);
    this.replays = new ReplayLimiter(options.history.maxConcurrentReplays);
    this.delivery = new RoomDelivery(engine, statsCounters);
    this.roomPresence = new RoomPresence(this.delivery, cluster);
    this.broadcaster = new RoomBroadcaster(
      this.rooms,
      this.sequencer,
      this.delivery,
      options,
      engine,
      connections,
      statsCounters,
      cluster,
    );
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

  /** @internal A presence_diff from the cluster, for this node's members. */
  deliverClusterPresence(roomId: string, frame: string, exceptConnectionId: string | undefined): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    const except = this.broadcaster.connectionOf(exceptConnectionId);
    this.delivery.deliverToRoom(room, -1, '', prepareFrame(Buffer.from(frame)), room.settings.slowConsumer, except);
  }

  /** Forgets idle sequences of rooms without members (called by the cleanup pass). */
  purgeIdleSequences(now: number): number {
    return this.sequencer.purge(now, (roomId) => this.rooms.has(roomId));
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
    const known = this.knownPosition(roomId);
    if (known !== undefined || this.isMember(connection, roomId)) {
      return this.addMember(connection, roomId, options.requestId, known);
    }
    // The room's position has to come from the cluster: the member is added first, behind a
    // gate that holds the room's frames until the position is known, so that nothing published
    // meanwhile is either missed or counted as seen.
    const gate = new ReplayGate();
    this.addMember(connection, roomId, undefined, undefined, true, gate);
    await this.openAtCurrentPosition(connection, roomId, gate, options.requestId);
    return this.clientCount(roomId);
  }

  /**
   * For a member added behind `gate` with nothing to replay: sends `room_joined` with the room's
   * current position, then opens the gate there. False when it left meanwhile (nothing sent).
   */
  async openAtCurrentPosition(
    connection: RealtimeConnection,
    roomId: string,
    gate: ReplayGate,
    requestId?: string | number,
  ): Promise<boolean> {
    const position = await this.position(roomId);
    if (!this.isGated(connection, roomId, gate)) return false;
    connection.send({
      type: 'room_joined',
      id: requestId,
      data: {
        room_id: roomId,
        client_count: this.clientCount(roomId),
        seq: position.seq,
        epoch: position.epoch,
      } satisfies RoomJoinedData,
    });
    this.releaseGate(connection, roomId, gate, position);
    return true;
  }

  /**
   * The first half of a `resume` of one room: joins it (policy and guards re-checked) behind a
   * gate that holds the room's live frames for the connection until its replay is done
   * ({@link replayRoom}, then {@link releaseGate}). Resolves with the gate, `'member'` when the
   * connection is in the room already (live frames reach it: nothing to replay), `undefined`
   * when it closed; throws `FORBIDDEN` when the join is refused.
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
   * Writes what a gated member missed in the room since `from`, paced by its outbound buffer,
   * within a slot of the node's replay limit. Resolves with how it ended (the caller then opens
   * the gate at the position), or `undefined` when the connection closed or left the room.
   */
  async replayRoom(
    connection: RealtimeConnection,
    roomId: string,
    gate: ReplayGate,
    from: Sequenced,
  ): Promise<ReplayResult | undefined> {
    const release = await this.replays.acquire();
    try {
      if (!this.isGated(connection, roomId, gate)) return undefined;
      const settings = this.broadcaster.settingsOf(roomId);
      const result = await this.replay
        .run(roomId, from, settings, this.replaySink(connection, roomId, gate))
        .catch((): ReplayResult => ({ ok: false, reason: 'unavailable', position: undefined, sent: 0 }));
      if (result === REPLAY_ABANDONED || !this.isGated(connection, roomId, gate)) return undefined;
      return result;
    } finally {
      release();
    }
  }

  /**
   * Writes a replay to a gated member. Past half of `writeBufferSize` the replay waits for the
   * reader (up to `writeTimeout`, after which it is a slow consumer: 1013), so a replay never
   * takes more than about one chunk of memory per connection.
   */
  private replaySink(connection: RealtimeConnection, roomId: string, gate: ReplayGate): ReplaySink {
    const below = Math.floor(this.options.writeBufferSize / 2);
    const timeout = this.options.writeTimeout > 0 ? this.options.writeTimeout : 30_000;
    return {
      write: (frame) =>
        this.isGated(connection, roomId, gate) &&
        this.delivery.writeReplayed(this.rooms.get(roomId)!, connection, frame),
      get backlogged() {
        return connection.socket.bufferedAmount > below;
      },
      drained: async () => {
        const result = await waitForDrain(connection, below, timeout);
        if (result === 'timeout') closeSlowConsumer(connection, this.statsCounters);
        return result === 'drained' && this.isGated(connection, roomId, gate);
      },
    };
  }

  /**
   * Writes replayed frames to a gated member, then opens its gate at `position` (what the
   * connection has now seen): the live frames held meanwhile that come after it follow.
   */
  releaseGate(
    connection: RealtimeConnection,
    roomId: string,
    gate: ReplayGate,
    position: Sequenced | undefined,
    replayed: readonly OutboundFrame[] = [],
  ): void {
    if (this.isGated(connection, roomId, gate)) {
      this.delivery.releaseGate(this.rooms.get(roomId)!, connection, gate, position, replayed);
    }
  }

  /** A room's current position: as delivered here, else the cluster's, else this node's sequencer's. */
  async position(roomId: string): Promise<Sequenced> {
    return (
      this.knownPosition(roomId) ??
      (await this.cluster.roomPosition(roomId)) ??
      this.sequencer.current(roomId, Date.now())
    );
  }

  /** Whether `gate` still holds the connection's frames of the room (it has not left meanwhile). */
  isGated(connection: RealtimeConnection, roomId: string, gate: ReplayGate): boolean {
    return this.rooms.get(roomId)?.gates?.get(connection) === gate;
  }

  /**
   * The room's position as this node has delivered it, when that is known without asking the
   * cluster: always with one node (its own sequencer), and in a cluster once the room has
   * delivered a frame here (a new member gets everything after it, in order).
   */
  private knownPosition(roomId: string): Sequenced | undefined {
    if (this.cluster.status === 'off') return this.sequencer.current(roomId, Date.now());
    const room = this.rooms.get(roomId);
    return room !== undefined && room.seq >= 0 ? { seq: room.seq, epoch: room.epoch } : undefined;
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
    if (this.cluster.status !== 'off') this.cluster.membersChanged(roomId, 1);
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
    if (this.cluster.status !== 'off') this.cluster.membersChanged(room.id, -1);
    this.roomPresence.departed(room, userId);
    if (room.size === 0) {
      this.sequencer.membersLeft(room.id, Date.now());
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

  /** @internal A room frame from the cluster, for this node's members. */
  deliverClusterFrame(
    roomId: string,
    frame: string,
    type: string,
    exceptConnectionId: string | undefined,
    seq: number,
    epoch: string,
  ): number {
    return this.broadcaster.deliverClusterFrame(roomId, frame, type, exceptConnectionId, seq, epoch);
  }

  /** Sends `{ type, data }` to every connection of a user, on every node; returns how many on this one. */
  sendToUser(userId: string, type: string, data: unknown): number {
    return this.broadcaster.sendToUser(userId, type, data);
  }

  /** @internal A user frame from the cluster. */
  deliverClusterUserFrame(userId: string, frame: string): number {
    return this.broadcaster.deliverClusterUserFrame(userId, frame);
  }

  /** Whether a user has a connection on any node. */
  async isUserOnline(userId: string): Promise<boolean> {
    return this.connections.countByUser(userId) > 0 || (await this.cluster.isUserOnlineElsewhere(userId));
  }

  /** Sends `{ type, data }` to every connection on every node; returns how many on this one. */
  sendToAll(type: string, data: unknown): number {
    return this.broadcaster.sendToAll(type, data);
  }

  /** @internal An announcement from the cluster. */
  deliverClusterAllFrame(frame: string): number {
    return this.broadcaster.deliverClusterAllFrame(frame);
  }
}

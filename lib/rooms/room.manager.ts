import { Inject, Injectable } from '@nestjs/common';
import { BroadcastEngine } from '../broadcast/broadcast.engine.js';
import { type OutboundFrame, prepareFrame } from '../broadcast/outbound-frame.js';
import { ClusterAdapter, roomFrameParts, type Sequenced } from '../cluster/cluster.adapter.js';
import { isoNow } from '../utils/clock.js';
import { ConnectionManager } from '../connections/connection.manager.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { RealtimeStats, type ServerStats } from '../connections/realtime-stats.js';
import {
  RealtimeBadRequestException,
  RealtimeException,
  RealtimeForbiddenException,
} from '../errors/realtime.exception.js';
import { EventPublisher } from '../events/event.publisher.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import type { Envelope } from '../protocol/envelope.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { SessionManager } from '../sessions/session.manager.js';
import { JoinPipeline } from './join.pipeline.js';
import { isValidRoomId, ROOM_ID_RULE } from './room-id.js';
import { ReplayGate } from './replay-gate.js';
import { type ReplayResult, RoomReplay } from './room-replay.js';
import type { ResolvedRoomSettings, SlowConsumerPolicy } from './room-settings.js';
import { type PresenceEntry, Room } from './room.js';
import { RoomSequencer } from './room-sequencer.js';

/** A room as listed by {@link RoomManager.list}. */
export interface RoomInfo {
  id: string;
  client_count: number;
  metadata: Record<string, unknown>;
}

/** Options of one broadcast. */
export interface BroadcastOptions {
  /** A connection (or connection id) that does not get this broadcast, e.g. its sender. */
  except?: RealtimeConnection | string;
  /** Overrides the room's slow-consumer policy for this message. */
  slowConsumer?: SlowConsumerPolicy;
  /** Conflation key (`conflate` policy): a newer frame with the same key replaces an unsent one. @default the type */
  conflationKey?: string;
}

/** What a room broadcast produced. */
export interface BroadcastResult {
  room_id: string;
  /** The room's sequence number of this broadcast. */
  seq: number;
  epoch: string;
  /** Connections on this node the frame was written to. */
  delivered: number;
}

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
 */
@Injectable()
export class RoomManager {
  private readonly rooms = new Map<string, Room>();
  /** Sequences outlive membership for as long as a session may come back to ask for them. */
  readonly sequencer: RoomSequencer;
  private readonly replay: RoomReplay;
  /** Per room, the latest broadcast still on its way through the cluster (see publishToCluster). */
  private readonly publishing = new Map<string, Promise<BroadcastResult>>();

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
    this.sequencer = new RoomSequencer(Math.max(options.sessionTtl, 60_000));
    this.replay = new RoomReplay(this.sequencer, cluster);
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
    return this.rooms.get(roomId)?.presence() ?? [];
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
    const except = this.connectionOf(exceptConnectionId);
    this.deliverToRoom(room, -1, '', prepareFrame(Buffer.from(frame)), room.settings.slowConsumer, except);
  }

  /** This node's connection with that id, if any (an `except` given by id, here or by another node). */
  private connectionOf(connectionId: string | undefined): RealtimeConnection | undefined {
    return connectionId === undefined ? undefined : this.connections.get(connectionId);
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
    if (!isValidRoomId(roomId)) throw new RealtimeBadRequestException(ROOM_ID_RULE);
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
    const position = await this.position(roomId);
    const room = this.rooms.get(roomId);
    if (room?.gates?.get(connection) !== gate) return this.clientCount(roomId);
    connection.send({
      type: 'room_joined',
      id: options.requestId,
      data: { room_id: roomId, client_count: room.size, seq: position.seq, epoch: position.epoch },
    });
    this.releaseGate(connection, roomId, gate, position);
    return room.size;
  }

  /**
   * A `resume` of one room: joins it (policy and guards re-checked) behind a gate, replays what
   * the connection missed since `from`, then lets live frames through with nothing lost or
   * doubled in between. Resolves with the gate and the replay under way (`undefined` for a
   * room without a position: joined from the current one), `'member'` when the connection is in
   * the room already (live frames reach it: nothing to replay), `undefined` when it closed; throws
   * `FORBIDDEN` when the join is refused.
   */
  async resumeRoom(
    connection: RealtimeConnection,
    roomId: string,
    from: Sequenced | undefined,
  ): Promise<{ gate: ReplayGate; replay: Promise<ReplayResult | undefined> } | 'member' | undefined> {
    if (this.isMember(connection, roomId)) return 'member';
    if (!(await this.admit(connection, roomId, false))) return undefined;
    if (this.isMember(connection, roomId)) return 'member';
    const gate = new ReplayGate();
    this.addMember(connection, roomId, undefined, undefined, true, gate);
    const settings = this.settingsOf(roomId);
    const replay =
      from === undefined
        ? Promise.resolve(undefined)
        : this.replay.since(roomId, from, settings).catch((): ReplayResult => ({
            ok: false,
            reason: 'unavailable',
            position: undefined,
          }));
    return { gate, replay };
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
    const room = this.rooms.get(roomId);
    if (room?.gates?.get(connection) !== gate) return;
    // A replay is history the client asked for: never conflated into one frame per key.
    const policy = room.settings.slowConsumer === 'conflate' ? 'disconnect' : room.settings.slowConsumer;
    let sent = 0;
    for (const frame of replayed) if (this.engine.deliverOne(connection, frame, policy)) sent++;
    for (const held of gate.open(position?.seq ?? -1, position?.epoch ?? '')) {
      if (this.engine.deliverOne(connection, held.frame, policy)) sent++;
    }
    this.statsCounters.messagesSent += sent;
    if (gate.done || gate.passed(room.seq, room.epoch)) this.removeGate(room, connection);
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

  private removeGate(room: Room, connection: RealtimeConnection): void {
    if (room.gates?.delete(connection) && room.gates.size === 0) room.gates = undefined;
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

  /** The settings of a room, live or not. */
  private settingsOf(roomId: string): ResolvedRoomSettings {
    return this.rooms.get(roomId)?.settings ?? this.options.rooms(roomId);
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
      data: { room_id: roomId, client_count: 0, seq: position?.seq, epoch: position?.epoch },
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
    const arrived = room.add(connection);
    connection.addRoom(roomId);
    this.sessions.get(connection.sessionId)?.addRoom(roomId);
    joined.data.client_count = room.size;
    if (!silent) connection.send(joined);
    const clustered = this.cluster.status !== 'off';
    if (clustered) this.cluster.membersChanged(roomId, 1);
    if (arrived) {
      const userId = connection.userId!;
      const username = connection.user?.username ?? userId;
      if (clustered) {
        // The cluster decides whether the user arrived (a tab on another node means no) and
        // sends presence_diff to every node.
        this.cluster.presenceChanged(roomId, userId, username, 1, this.sendsPresenceDiffs(room), connection.id);
      } else if (this.sendsPresenceDiffs(room)) {
        this.presenceDiff(room, 'joins', userId, username, connection);
      }
    }
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
      connection.send({ type: 'room_left', id: requestId, data: { room_id: roomId } });
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
    if (!room.members.has(connection)) return false;
    const username = userId === undefined ? undefined : room.users.get(userId)?.username;
    const departed = room.remove(connection, userId);
    connection.removeRoom(room.id);
    const announce = this.sendsPresenceDiffs(room);
    if (this.cluster.status !== 'off') {
      this.cluster.membersChanged(room.id, -1);
      if (departed) this.cluster.presenceChanged(room.id, userId!, username ?? userId!, -1, announce);
    } else if (departed && room.size > 0 && announce) {
      this.presenceDiff(room, 'leaves', userId!, username ?? userId!);
    }
    if (room.size === 0) {
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
        connection.send({ type: 'room_left', data: { room_id: roomId, reason: 'forbidden' } });
      }
    }
  }

  /**
   * A member now acts as another user: its presence moves to that user, while its membership
   * (and any replay gate) stays as it is, so no broadcast can slip past it meanwhile.
   */
  private moveMemberToUser(room: Room, connection: RealtimeConnection, previousUserId: string | undefined): void {
    if (previousUserId === connection.userId) return;
    const gate = room.gates?.get(connection);
    const previousName = previousUserId === undefined ? undefined : room.users.get(previousUserId)?.username;
    const departed = room.remove(connection, previousUserId);
    const arrived = room.add(connection);
    if (gate !== undefined) (room.gates ??= new Map()).set(connection, gate);
    const announce = this.sendsPresenceDiffs(room);
    const clustered = this.cluster.status !== 'off';
    if (departed) {
      const name = previousName ?? previousUserId!;
      if (clustered) this.cluster.presenceChanged(room.id, previousUserId!, name, -1, announce);
      else if (announce) this.presenceDiff(room, 'leaves', previousUserId!, name);
    }
    if (arrived) {
      const userId = connection.userId!;
      const username = connection.user?.username ?? userId;
      if (clustered) this.cluster.presenceChanged(room.id, userId, username, 1, announce, connection.id);
      else if (announce) this.presenceDiff(room, 'joins', userId, username, connection);
    }
  }

  /**
   * Broadcasts `{ type, room, seq, epoch, data }` to every member of the room on this node,
   * serialized once.
   */
  // `async` so that every failure is a rejection; it runs synchronously up to the cluster call,
  // so without a cluster the frame is delivered before this returns.
  async broadcast(
    roomId: string,
    type: string,
    data: unknown,
    options: BroadcastOptions = {},
  ): Promise<BroadcastResult> {
    this.assertRoomId(roomId);
    const except = typeof options.except === 'string' ? this.connectionOf(options.except) : options.except;
    if (this.cluster.status !== 'off') return this.broadcastThroughCluster(roomId, type, data, except, options);
    return this.broadcastLocally(roomId, type, data, except, options);
  }

  /**
   * Cluster: the sequence comes from the cluster and every node, this one included, delivers
   * the frame from the cluster's stream, in `seq` order. If the cluster cannot take it (Redis
   * down), this node delivers alone, numbered by its local sequencer under its own epoch.
   */
  private broadcastThroughCluster(
    roomId: string,
    type: string,
    data: unknown,
    except: RealtimeConnection | undefined,
    options: BroadcastOptions,
  ): Promise<BroadcastResult> {
    const previous = this.publishing.get(roomId);
    const current = this.publishToCluster(roomId, type, data, except, options, previous);
    this.publishing.set(roomId, current);
    return current.finally(() => {
      if (this.publishing.get(roomId) === current) this.publishing.delete(roomId);
    });
  }

  private async publishToCluster(
    roomId: string,
    type: string,
    data: unknown,
    except: RealtimeConnection | undefined,
    options: BroadcastOptions,
    previous: Promise<unknown> | undefined,
  ): Promise<BroadcastResult> {
    const parts = roomFrameParts(roomId, type, data, isoNow());
    this.statsCounters.clusterPublished++;
    const settings = this.settingsOf(roomId);
    const sequenced = await this.cluster.publishRoom(roomId, parts, except?.id, {
      size: settings.historySize,
      ttl: settings.historyTtl,
    });
    if (sequenced) {
      return { room_id: roomId, seq: sequenced.seq, epoch: sequenced.epoch, delivered: this.clientCount(roomId) };
    }
    // Delivered here alone. An earlier broadcast to the room may still be on its way to failing
    // (a command in flight when Redis went away): it goes first, so local members keep the
    // order in which this node broadcast.
    if (previous !== undefined) await previous.catch(() => undefined);
    return this.broadcastLocally(roomId, type, data, except, options);
  }

  private broadcastLocally(
    roomId: string,
    type: string,
    data: unknown,
    except: RealtimeConnection | undefined,
    options: BroadcastOptions,
  ): BroadcastResult {
    const sequence = this.sequencer.next(roomId, Date.now());
    const { seq, epoch } = sequence;
    const room = this.rooms.get(roomId);
    const settings = room?.settings ?? this.options.rooms(roomId);
    if (!room && settings.historySize === 0) return { room_id: roomId, seq, epoch, delivered: 0 };
    const frame = this.engine.serialize({ type, room: roomId, seq, epoch, data } as Envelope);
    this.sequencer.record(sequence, frame, settings);
    if (!room) return { room_id: roomId, seq, epoch, delivered: 0 };
    const delivered = this.deliverToRoom(
      room,
      seq,
      epoch,
      frame,
      options.slowConsumer ?? room.settings.slowConsumer,
      except,
      options.conflationKey === undefined ? `${roomId}\u0000${type}` : `${roomId}\u0000${options.conflationKey}`,
    );
    return { room_id: roomId, seq, epoch, delivered };
  }

  /**
   * Delivers a room frame to the members, and through their gates to members whose replay is
   * under way. `seq` -1 marks a frame outside the sequence (presence).
   */
  private deliverToRoom(
    room: Room,
    seq: number,
    epoch: string,
    frame: OutboundFrame,
    policy: SlowConsumerPolicy,
    except: RealtimeConnection | undefined,
    conflationKey?: string,
  ): number {
    if (seq >= 0) {
      room.seq = seq;
      room.epoch = epoch;
    }
    const gates = room.gates;
    const delivered = this.engine.deliver(room.members, frame, policy, except, conflationKey, gates);
    if (gates === undefined) return delivered;
    let released = 0;
    for (const [connection, gate] of gates) {
      if (connection === except || !gate.offer(seq, epoch, frame)) continue;
      if (this.engine.deliverOne(connection, frame, policy, conflationKey)) released++;
      if (gate.done) this.removeGate(room, connection);
    }
    this.statsCounters.messagesSent += released;
    return delivered + released;
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
    const room = this.rooms.get(roomId);
    if (!room) return 0;
    const except = this.connectionOf(exceptConnectionId);
    return this.deliverToRoom(
      room,
      seq,
      epoch,
      prepareFrame(Buffer.from(frame)),
      room.settings.slowConsumer,
      except,
      `${roomId}\u0000${type}`,
    );
  }

  /** Sends `{ type, data }` to every connection of a user, on every node; returns how many on this one. */
  sendToUser(userId: string, type: string, data: unknown): number {
    const frame = this.engine.serialize({ type, data });
    if (this.cluster.status !== 'off') {
      this.statsCounters.clusterPublished++;
      this.cluster.publishUser(userId, frame.payload.toString());
    }
    const targets = this.connections.getByUser(userId);
    if (targets.length === 0) return 0;
    return this.engine.deliver(targets, frame, 'disconnect');
  }

  /** @internal A user frame from the cluster. */
  deliverClusterUserFrame(userId: string, frame: string): number {
    const targets = this.connections.getByUser(userId);
    return targets.length === 0 ? 0 : this.engine.deliver(targets, prepareFrame(Buffer.from(frame)), 'disconnect');
  }

  /** Whether a user has a connection on any node. */
  async isUserOnline(userId: string): Promise<boolean> {
    return this.connections.countByUser(userId) > 0 || (await this.cluster.isUserOnlineElsewhere(userId));
  }

  /** Sends `{ type, data }` to every connection on every node; returns how many on this one. */
  sendToAll(type: string, data: unknown): number {
    const frame = this.engine.serialize({ type, data });
    if (this.cluster.status !== 'off') {
      this.statsCounters.clusterPublished++;
      this.cluster.publishAll(frame.payload.toString());
    }
    return this.deliverToAll(frame);
  }

  /** @internal An announcement from the cluster. */
  deliverClusterAllFrame(frame: string): number {
    return this.deliverToAll(prepareFrame(Buffer.from(frame)));
  }

  private deliverToAll(frame: OutboundFrame): number {
    if (this.connections.count === 0) return 0;
    return this.engine.deliver(this.connections.connections(), frame, 'disconnect');
  }

  private sendsPresenceDiffs(room: Room): boolean {
    return room.settings.presence && room.size <= room.settings.presenceDiffLimit;
  }

  /**
   * `presence_diff` to the room's members. It carries `room` but no `seq`: presence is state, not
   * history, and is not replayed on resume (a resuming client asks for `presence`).
   */
  private presenceDiff(
    room: Room,
    kind: 'joins' | 'leaves',
    userId: string,
    username: string,
    /** The connection whose arrival this is: it knows, and gets `presence_state` if it asks. */
    except?: RealtimeConnection,
  ): void {
    const entry = [{ user_id: userId, username }];
    const frame = this.engine.serialize({
      type: 'presence_diff',
      room: room.id,
      data: { room_id: room.id, joins: kind === 'joins' ? entry : [], leaves: kind === 'leaves' ? entry : [] },
    });
    this.deliverToRoom(room, -1, '', frame, room.settings.slowConsumer, except);
  }
}

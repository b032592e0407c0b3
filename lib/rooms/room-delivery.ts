import { Injectable } from '@nestjs/common';
import { BroadcastEngine } from '../broadcast/broadcast.engine.js';
import type { OutboundFrame } from '../broadcast/outbound-frame.js';
import type { Sequenced } from '../cluster/cluster.adapter.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { RealtimeStats } from '../stats/realtime-stats.js';
import type { ReplayGate } from '../history/replay-gate.js';
import type { SlowConsumerPolicy } from '../options/room-settings.js';
import type { Room } from './room.js';

/**
 * Writes a room's frames to its members on this node. Members whose join or resume is still
 * replaying get them through their ReplayGate, so that the switch from replay to live neither
 * loses nor doubles a frame; the gate is dropped as soon as it can no longer hold anything back.
 */
@Injectable()
export class RoomDelivery {
  constructor(
    private readonly engine: BroadcastEngine,
    private readonly statsCounters: RealtimeStats,
  ) {}

  /**
   * Delivers a room frame to the members, and through their gates to members whose replay is
   * under way. `seq` -1 marks a frame outside the sequence (presence).
   */
  deliverToRoom(
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

  /**
   * Writes replayed frames to a member held by `gate` (the room's current gate for it), then
   * opens the gate at `position` (what the connection has now seen): the live frames held
   * meanwhile that come after it follow.
   */
  releaseGate(
    room: Room,
    connection: RealtimeConnection,
    gate: ReplayGate,
    position: Sequenced | undefined,
    replayed: readonly OutboundFrame[],
  ): void {
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

  /**
   * Writes one replayed frame to a gated member (under the room's policy, as releaseGate);
   * false once the connection is no longer open.
   */
  writeReplayed(room: Room, connection: RealtimeConnection, frame: OutboundFrame): boolean {
    // A replay is history the client asked for: never conflated into one frame per key.
    const policy = room.settings.slowConsumer === 'conflate' ? 'disconnect' : room.settings.slowConsumer;
    if (this.engine.deliverOne(connection, frame, policy)) this.statsCounters.messagesSent++;
    return connection.socket.readyState === 1;
  }

  private removeGate(room: Room, connection: RealtimeConnection): void {
    if (room.gates?.delete(connection) && room.gates.size === 0) room.gates = undefined;
  }
}

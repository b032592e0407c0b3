import { Inject, Injectable } from '@nestjs/common';
import type { OutboundFrame } from '../broadcast/outbound-frame.js';
import type { Sequenced } from '../cluster/cluster.adapter.js';
import type { RealtimeConnection } from '../connections/realtime-connection.js';
import { GatedMembers } from '../history/history-rooms.js';
import type { ReplayGate } from '../history/replay-gate.js';
import type { ResolvedRealtimeOptions } from '../interfaces/realtime-options.interface.js';
import { RESOLVED_REALTIME_OPTIONS } from '../realtime.constants.js';
import { RoomDelivery } from './room-delivery.js';
import { RoomRegistry } from './room-registry.js';
import type { ResolvedRoomSettings } from '../options/room-settings.js';

/** The rooms' gated members as history sees them (see GatedMembers): lookups in the registry, writes through RoomDelivery. */
@Injectable()
export class RoomGates extends GatedMembers {
  constructor(
    @Inject(RESOLVED_REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly rooms: RoomRegistry,
    private readonly delivery: RoomDelivery,
  ) {
    super();
  }

  isGated(connection: RealtimeConnection, roomId: string, gate: ReplayGate): boolean {
    return this.rooms.get(roomId)?.gates?.get(connection) === gate;
  }

  deliveredPosition(roomId: string): Sequenced | undefined {
    const room = this.rooms.get(roomId);
    return room !== undefined && room.seq >= 0 ? { seq: room.seq, epoch: room.epoch } : undefined;
  }

  clientCount(roomId: string): number {
    return this.rooms.get(roomId)?.size ?? 0;
  }

  settingsOf(roomId: string): ResolvedRoomSettings {
    return this.rooms.get(roomId)?.settings ?? this.options.rooms(roomId);
  }

  /** Called only while the member is gated, so the room is live. */
  writeReplayed(connection: RealtimeConnection, roomId: string, frame: OutboundFrame): boolean {
    return this.delivery.writeReplayed(this.rooms.get(roomId)!, connection, frame);
  }

  /** Called only while the member is gated, so the room is live. */
  openGate(
    connection: RealtimeConnection,
    roomId: string,
    gate: ReplayGate,
    position: Sequenced | undefined,
    replayed: readonly OutboundFrame[],
  ): void {
    this.delivery.releaseGate(this.rooms.get(roomId)!, connection, gate, position, replayed);
  }
}

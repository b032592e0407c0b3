import { ClusterAdapter, type BroadcastSequenced, type RoomBroadcast, type Sequenced } from './cluster.adapter.js';
import { localRoomPosition } from './local-room-delivery.js';

/**
 * The single-node adapter (the default): the cluster is this process. It answers the rooms
 * layer exactly what a shared backend would, from this node alone, so that the layers above
 * never ask which adapter they have:
 *
 * - a room broadcast is numbered here (the LocalSequencer, history's) and delivered to the
 *   members at once, through `host.deliverRoom` — the path a frame from Redis takes — before
 *   `broadcastRoom` returns (a handler's broadcast reaches the room before its reply);
 * - a `presence_diff` goes to the room's members here, as the cluster would have published it;
 * - the room's position is the local sequencer's, known without waiting.
 *
 * Nothing leaves the process: user frames, announcements and kicks were delivered by their
 * publisher, so nothing is encoded or counted as published (`websocket_cluster_*` stay at 0).
 */
export class InMemoryClusterAdapter extends ClusterAdapter {
  readonly status = 'off' as const;

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** Numbered and delivered here, synchronously: there is no one else to agree on an order with. */
  override broadcastRoom(roomId: string, broadcast: RoomBroadcast): BroadcastSequenced {
    return this.deliverHere(roomId, broadcast);
  }

  /** No shared backend to sequence on: a publisher without members (the emitter) has nowhere to send. */
  async publishRoom(): Promise<undefined> {
    return undefined;
  }

  override localPosition(roomId: string): Sequenced | undefined {
    return localRoomPosition(this.local, roomId);
  }

  async roomPosition(roomId: string): Promise<Sequenced | undefined> {
    return this.localPosition(roomId);
  }

  /** The history is this node's own, replayed by history/ directly; there is no other to read. */
  async roomHistory(): Promise<undefined> {
    return undefined;
  }

  /** A session can only be resumed on this node, which knows its sessions. */
  saveSession(): void {}
  async sessionOwner(): Promise<undefined> {
    return undefined;
  }

  async watchRoom(): Promise<void> {}
  unwatchRoom(): void {}
  userArrived(): void {}
  userDeparted(): void {}

  // Nothing leaves this process: the publisher already delivered on this node, so there is
  // nothing to encode (or count) either.
  override publishUser(_userId: string, _frame: string): void {}
  override publishAll(_frame: string): void {}
  override publishDisconnect(_userId: string, _reason: string): void {}
  protected transmit(): void {}
  protected roomOf(): undefined {
    return undefined;
  }
  protected userOf(): undefined {
    return undefined;
  }
  /** Never called: nothing is received from other nodes. */
  protected receivedRoomFrame(): void {}

  async isUserOnlineElsewhere(_userId: string): Promise<boolean> {
    return false;
  }

  /**
   * This node's share is the room's whole presence: a user arriving or leaving here arrives in or
   * leaves the room, and its `presence_diff` goes to the members here (not to `exceptConnectionId`).
   */
  presenceChanged(
    roomId: string,
    _userId: string,
    _username: string,
    _connections: number,
    diff: string | undefined,
    exceptConnectionId?: string,
  ): void {
    if (diff !== undefined) this.host.deliverPresence(roomId, diff, exceptConnectionId);
  }

  membersChanged(): void {}

  /** No view wider than this node's: the rooms layer answers with its own presence. */
  async presenceState(_roomId: string): Promise<undefined> {
    return undefined;
  }

  /** No view wider than this node's: the rooms layer lists its own rooms. */
  async roomCounts(): Promise<undefined> {
    return undefined;
  }
}

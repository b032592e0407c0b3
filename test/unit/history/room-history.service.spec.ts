import { describe, expect, it, jest } from '@jest/globals';
import { prepareFrame } from '../../../lib/broadcast/outbound-frame.js';
import type { ClusterAdapter, ClusterHost, Sequenced } from '../../../lib/cluster/cluster.adapter.js';
import { InMemoryClusterAdapter } from '../../../lib/cluster/in-memory-cluster.adapter.js';
import type { RealtimeConnection } from '../../../lib/connections/realtime-connection.js';
import { RealtimeStats } from '../../../lib/stats/realtime-stats.js';
import type { GatedMembers } from '../../../lib/history/history-rooms.js';
import { ReplayGate } from '../../../lib/history/replay-gate.js';
import { RoomHistoryService } from '../../../lib/history/room-history.service.js';
import { resolveRealtimeOptions } from '../../../lib/options/resolve-options.js';
import { DEFAULT_ROOM_SETTINGS } from '../../../lib/options/room-settings.js';

const connection = { send: jest.fn(), socket: { bufferedAmount: 0, readyState: 1 } } as unknown as RealtimeConnection;

/** Rooms as history sees them: one connection held behind `gate` in room `r` (until `left`). */
function fakeMembers(gate: ReplayGate, delivered?: Sequenced) {
  const state = { left: false };
  const members = {
    isGated: jest.fn(
      (_c: RealtimeConnection, roomId: string, g: ReplayGate) => !state.left && roomId === 'r' && g === gate,
    ),
    deliveredPosition: jest.fn(() => delivered),
    clientCount: jest.fn(() => 1),
    settingsOf: jest.fn(() => DEFAULT_ROOM_SETTINGS),
    writeReplayed: jest.fn(() => true),
    openGate: jest.fn(),
  };
  return { members, state };
}

/**
 * The service on one node (the in-memory adapter, which this service numbers for) or in a
 * cluster that numbers the rooms itself and answers `roomPosition` with `clusterPosition`.
 */
function service(
  status: 'up' | 'off',
  members: ReturnType<typeof fakeMembers>['members'],
  clusterPosition?: Sequenced,
) {
  const oneNode = status === 'off' ? new InMemoryClusterAdapter() : undefined;
  const cluster =
    oneNode ??
    ({
      localPosition: () => undefined,
      roomPosition: jest.fn(async () => clusterPosition),
    } as unknown as ClusterAdapter);
  const history = new RoomHistoryService(
    resolveRealtimeOptions({ history: { maxConcurrentReplays: 1 } }),
    cluster,
    new RealtimeStats(),
    members as unknown as GatedMembers,
  );
  oneNode?.attach({} as ClusterHost, history);
  return history;
}

describe('RoomHistoryService', () => {
  it("knows a room's position from its own sequencer without a cluster", async () => {
    const { members } = fakeMembers(new ReplayGate(), { seq: 7, epoch: 'delivered' });
    const history = service('off', members);
    history.sequencer.next('r', Date.now());
    history.sequencer.next('r', Date.now());
    const own = history.sequencer.peek('r')!;
    expect(history.knownPosition('r')).toMatchObject({ seq: 2, epoch: own.epoch });
    expect(await history.position('r')).toMatchObject({ seq: 2, epoch: own.epoch });
    expect(members.deliveredPosition).not.toHaveBeenCalled();
  });

  it('in a cluster, takes the position delivered here, else the cluster’s, else its own', async () => {
    const delivered = fakeMembers(new ReplayGate(), { seq: 7, epoch: 'here' });
    expect(await service('up', delivered.members, { seq: 9, epoch: 'cluster' }).position('r')).toEqual({
      seq: 7,
      epoch: 'here',
    });
    const nothingHere = fakeMembers(new ReplayGate(), undefined);
    const clustered = service('up', nothingHere.members, { seq: 9, epoch: 'cluster' });
    expect(clustered.knownPosition('r')).toBeUndefined();
    expect(await clustered.position('r')).toEqual({ seq: 9, epoch: 'cluster' });
    const unreachable = service('up', nothingHere.members, undefined);
    expect(await unreachable.position('r')).toMatchObject({ seq: 0, epoch: unreachable.sequencer.peek('r')!.epoch });
  });

  it('opens a gate only while the member is still held by it', () => {
    const gate = new ReplayGate();
    const { members, state } = fakeMembers(gate);
    const history = service('off', members);
    history.releaseGate(connection, 'r', new ReplayGate(), { seq: 1, epoch: 'e' });
    expect(members.openGate).not.toHaveBeenCalled();
    history.releaseGate(connection, 'r', gate, { seq: 1, epoch: 'e' });
    expect(members.openGate).toHaveBeenCalledWith(connection, 'r', gate, { seq: 1, epoch: 'e' }, []);
    state.left = true;
    history.releaseGate(connection, 'r', gate, { seq: 2, epoch: 'e' });
    expect(members.openGate).toHaveBeenCalledTimes(1);
  });

  it('replays nothing for a member that left, and gives its replay slot back', async () => {
    const gate = new ReplayGate();
    const { members, state } = fakeMembers(gate);
    const history = service('off', members);
    state.left = true;
    expect(await history.replayRoom(connection, 'r', gate, { seq: 0, epoch: 'e' })).toBeUndefined();
    expect(members.writeReplayed).not.toHaveBeenCalled();
    expect(history.replays.active).toBe(0);
  });

  it('replays from its own history up to the room’s position, then leaves the gate to the caller', async () => {
    const gate = new ReplayGate();
    const { members } = fakeMembers(gate);
    const history = service('off', members);
    const now = Date.now();
    for (let i = 1; i <= 3; i++) {
      const sequence = history.sequencer.next('r', now);
      history.sequencer.record(sequence, prepareFrame(Buffer.from(`{"seq":${i}}`)), DEFAULT_ROOM_SETTINGS);
    }
    const epoch = history.sequencer.peek('r')!.epoch;
    const result = await history.replayRoom(connection, 'r', gate, { seq: 1, epoch });
    expect(result).toEqual({ ok: true, position: { seq: 3, epoch }, sent: 2 });
    expect(members.writeReplayed).toHaveBeenCalledTimes(2);
    expect(members.openGate).not.toHaveBeenCalled();
    expect(history.replays.active).toBe(0);
  });
});

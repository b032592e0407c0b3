import { describe, expect, it, jest } from '@jest/globals';
import {
  type ClusterHost,
  type RoomBroadcast,
  type RoomFrame,
  roomFrameParts,
} from '../../../lib/cluster/cluster.adapter.js';
import { InMemoryClusterAdapter } from '../../../lib/cluster/in-memory-cluster.adapter.js';
import type { GatedMembers } from '../../../lib/history/history-rooms.js';
import { RoomHistoryService } from '../../../lib/history/room-history.service.js';
import { resolveRealtimeOptions } from '../../../lib/options/resolve-options.js';
import { DEFAULT_ROOM_SETTINGS, type ResolvedRoomSettings } from '../../../lib/options/room-settings.js';
import { RealtimeStats } from '../../../lib/stats/realtime-stats.js';

const TIMESTAMP = '2030-01-02T03:04:05.678Z';

/**
 * One node: the in-memory adapter over history's real sequencer (RoomHistoryService, its
 * LocalSequencer), with the rooms reduced to member counts and a host that records what it is
 * handed. `members` sets a room's member count on this node.
 */
function oneNode(settings: Partial<ResolvedRoomSettings> = {}) {
  const counts = new Map<string, number>();
  const members = {
    clientCount: (roomId: string) => counts.get(roomId) ?? 0,
    settingsOf: () => ({ ...DEFAULT_ROOM_SETTINGS, ...settings }),
  } as unknown as GatedMembers;
  const history = new RoomHistoryService(resolveRealtimeOptions({}), undefined!, new RealtimeStats(), members);
  const rooms: [string, RoomFrame][] = [];
  const presence: [string, string, string | undefined][] = [];
  const host = {
    nodeId: 'node-a',
    counters: { clusterPublished: 0, clusterReceived: 0 },
    // Every member gets it but the excepted one.
    deliverRoom: jest.fn((roomId: string, frame: RoomFrame) => {
      rooms.push([roomId, frame]);
      return (counts.get(roomId) ?? 0) - (frame.except === undefined ? 0 : 1);
    }),
    deliverUser: jest.fn<ClusterHost['deliverUser']>(),
    deliverAll: jest.fn<ClusterHost['deliverAll']>(),
    disconnectUser: jest.fn<ClusterHost['disconnectUser']>(),
    deliverPresence: jest.fn((roomId: string, frame: string, except: string | undefined) => {
      presence.push([roomId, frame, except]);
    }),
  } satisfies ClusterHost;
  const adapter = new InMemoryClusterAdapter();
  adapter.attach(host, history);
  return {
    adapter,
    history,
    host,
    rooms,
    presence,
    members: (roomId: string, count: number) => counts.set(roomId, count),
  };
}

function broadcast(type: string, data: unknown, more: Partial<RoomBroadcast> = {}, roomId = 'lobby'): RoomBroadcast {
  return {
    parts: roomFrameParts(roomId, type, data, TIMESTAMP),
    type,
    except: undefined,
    history: { size: 100, ttl: 300_000, maxBytes: 1 << 20 },
    ...more,
  };
}

describe('InMemoryClusterAdapter (one node: local sequencing and delivery through the host)', () => {
  it("numbers each room's broadcasts from 1, gap-free, under one epoch per room", () => {
    const { adapter, members } = oneNode();
    members('lobby', 2);
    members('other', 1);
    const first = adapter.broadcastRoom('lobby', broadcast('chat', 1));
    const second = adapter.broadcastRoom('lobby', broadcast('chat', 2));
    const elsewhere = adapter.broadcastRoom('other', broadcast('chat', 3, {}, 'other'));
    expect([first.seq, second.seq, elsewhere.seq]).toEqual([1, 2, 1]);
    expect(second.epoch).toBe(first.epoch);
    expect(elsewhere.epoch).not.toBe(first.epoch);
    expect(first.epoch).toMatch(/^\S{6,}$/);
  });

  it('delivers through host.deliverRoom the frame a cluster would carry, framed once and counted by the host', () => {
    const { adapter, history, rooms, members } = oneNode();
    members('lobby', 3);
    const result = adapter.broadcastRoom('lobby', broadcast('chat', { text: 'hi' }, { except: 'conn-1' }));
    expect(rooms).toHaveLength(1);
    const [roomId, frame] = rooms[0];
    const { seq, epoch } = history.current('lobby', Date.now());
    // Byte for byte the envelope of a room broadcast (PROTOCOL.md), as the Redis adapter delivers it.
    const text = JSON.stringify({
      type: 'chat',
      room: 'lobby',
      seq,
      epoch,
      data: { text: 'hi' },
      timestamp: TIMESTAMP,
    });
    expect(roomId).toBe('lobby');
    expect(frame).toMatchObject({ frame: text, type: 'chat', except: 'conn-1', seq: 1, epoch });
    expect(frame.prepared!.payload.toString()).toBe(text);
    // What the host reports delivered is what the broadcast reports: two members, one excepted.
    expect(result).toEqual({ seq: 1, epoch, delivered: 2 });
  });

  it('builds frames as JSON.stringify builds the envelope, data it cannot represent left out', () => {
    const { adapter, rooms, members } = oneNode();
    members('lobby', 1);
    for (const data of [undefined, () => 1, null, 'x\n"y"']) adapter.broadcastRoom('lobby', broadcast('chat', data));
    const envelopes = rooms.map(([, { seq, epoch }], i) =>
      JSON.stringify({
        type: 'chat',
        room: 'lobby',
        seq,
        epoch,
        data: [undefined, () => 1, null, 'x\n"y"'][i],
        timestamp: TIMESTAMP,
      }),
    );
    expect(rooms.map(([, frame]) => frame.frame)).toEqual(envelopes);
  });

  it("hands the host the broadcast's own slow-consumer policy and conflation key, which never cross a cluster", () => {
    const { adapter, rooms, members } = oneNode();
    members('ticks', 1);
    adapter.broadcastRoom(
      'ticks',
      broadcast('tick', 1, { slowConsumer: 'conflate', conflationKey: 'EURUSD' }, 'ticks'),
    );
    adapter.broadcastRoom('ticks', broadcast('tick', 2, {}, 'ticks'));
    expect(rooms.map(([, frame]) => [frame.slowConsumer, frame.conflationKey])).toEqual([
      ['conflate', 'EURUSD'],
      [undefined, undefined],
    ]);
  });

  it('delivers synchronously, in the order broadcast, before broadcastRoom returns', () => {
    const { adapter, rooms, members } = oneNode();
    members('lobby', 1);
    const order: string[] = [];
    for (let n = 1; n <= 3; n++) {
      const result = adapter.broadcastRoom('lobby', broadcast('chat', n));
      expect(result).not.toBeInstanceOf(Promise);
      order.push(`returned ${n}, delivered ${rooms.length}`);
    }
    expect(order).toEqual(['returned 1, delivered 1', 'returned 2, delivered 2', 'returned 3, delivered 3']);
    expect(rooms.map(([, frame]) => [frame.seq, JSON.parse(frame.frame).data])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
  });

  it('keeps a delivered frame for replay (the same bytes), and numbers without serializing where nobody is or can come back', () => {
    const { adapter, history, host, members } = oneNode();
    members('lobby', 1);
    adapter.broadcastRoom('lobby', broadcast('chat', 'kept'));
    const kept = history.sequencer.peek('lobby')!.history!.since(0, 1, Date.now())!;
    expect(kept.map((entry) => entry.seq)).toEqual([1]);
    expect(kept[0].frame).toBe(host.deliverRoom.mock.calls[0][1].prepared);

    const empty = adapter.broadcastRoom('empty', broadcast('chat', 'nobody', {}, 'empty'));
    expect(empty).toMatchObject({ seq: 1, delivered: 0 });
    expect(host.deliverRoom).toHaveBeenCalledTimes(1);
    expect(history.sequencer.peek('empty')!.history).toBeUndefined();
    // The seq it took stays taken: the room's next broadcast is 2, not 1 again.
    members('empty', 1);
    expect(adapter.broadcastRoom('empty', broadcast('chat', 'someone', {}, 'empty')).seq).toBe(2);
  });

  it("answers a room's position at once from the local sequencer, fresh rooms included", async () => {
    const { adapter, members } = oneNode();
    const fresh = adapter.localPosition('lobby')!;
    expect(fresh.seq).toBe(0);
    members('lobby', 1);
    const sent = adapter.broadcastRoom('lobby', broadcast('chat', 1));
    expect(sent.epoch).toBe(fresh.epoch);
    expect(adapter.localPosition('lobby')).toEqual({ seq: 1, epoch: fresh.epoch });
    expect(await adapter.roomPosition('lobby')).toEqual({ seq: 1, epoch: fresh.epoch });
  });

  it('delivers a presence_diff to the members here, except the connection it names, and nothing without one', async () => {
    const { adapter, presence } = oneNode();
    const diff = '{"type":"presence_diff","room":"lobby","data":{}}';
    adapter.presenceChanged('lobby', 'kim', 'Kim', 1, diff, 'conn-1');
    adapter.presenceChanged('lobby', 'kim', 'Kim', 2, undefined, 'conn-2');
    adapter.presenceChanged('lobby', 'kim', 'Kim', 0, diff);
    expect(presence).toEqual([
      ['lobby', diff, 'conn-1'],
      ['lobby', diff, undefined],
    ]);
    // No view wider than this node's: the rooms layer answers from its own.
    expect(await adapter.presenceState('lobby')).toBeUndefined();
    expect(await adapter.roomCounts()).toBeUndefined();
    expect(await adapter.isUserOnlineElsewhere('kim')).toBe(false);
  });

  it('publishes nothing and counts nothing: nothing leaves the process', () => {
    const { adapter, host, members } = oneNode();
    members('lobby', 1);
    adapter.broadcastRoom('lobby', broadcast('chat', 1));
    adapter.publishUser('kim', '{"type":"dm"}');
    adapter.publishAll('{"type":"news"}');
    adapter.publishDisconnect('kim', 'bye');
    adapter.presenceChanged('lobby', 'kim', 'Kim', 1, '{"type":"presence_diff","room":"lobby","data":{}}');
    expect(host.counters).toEqual({ clusterPublished: 0, clusterReceived: 0 });
    expect(host.deliverUser).not.toHaveBeenCalled();
    expect(host.deliverAll).not.toHaveBeenCalled();
    expect(host.disconnectUser).not.toHaveBeenCalled();
  });

  it('has no cluster to publish to for a publisher without members (the emitter)', async () => {
    const adapter = new InMemoryClusterAdapter();
    const { host } = oneNode();
    adapter.attach(host);
    expect(await adapter.publishRoom()).toBeUndefined();
    expect(adapter.localPosition('lobby')).toBeUndefined();
    expect(() => adapter.broadcastRoom('lobby', broadcast('chat', 1))).toThrow(/LocalSequencer/);
  });
});

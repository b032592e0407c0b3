import { describe, expect, it } from '@jest/globals';
import type { ClusterAdapter, ClusterHost } from '../../../lib/cluster/cluster.adapter.js';
import { InMemoryClusterAdapter } from '../../../lib/cluster/in-memory-cluster.adapter.js';
import type { RealtimeConnection } from '../../../lib/connections/realtime-connection.js';
import { RoomPresence } from '../../../lib/presence/room-presence.js';
import { DEFAULT_ROOM_SETTINGS, type RoomSettings } from '../../../lib/options/room-settings.js';
import { Room } from '../../../lib/rooms/room.js';

let nextId = 0;
/** A stand-in connection: only what presence reads. */
function connection(userId: string, username = userId): RealtimeConnection {
  return { id: `c${++nextId}`, userId, user: { username } } as unknown as RealtimeConnection;
}

function roomWith(settings: RoomSettings = {}): Room {
  return new Room('r', { ...DEFAULT_ROOM_SETTINGS, ...settings });
}

/**
 * RoomPresence on one node (the in-memory adapter): what reaches the room's members through the
 * adapter's host, as [frame data, except connection id].
 */
function oneNode() {
  const delivered: [unknown, string | undefined][] = [];
  const host = {
    deliverPresence: (roomId: string, frame: string, exceptConnectionId: string | undefined) => {
      const parsed = JSON.parse(frame) as { type: string; room: string; data: unknown };
      expect(parsed).toMatchObject({ type: 'presence_diff', room: roomId });
      delivered.push([parsed.data, exceptConnectionId]);
    },
  } as unknown as ClusterHost;
  const cluster = new InMemoryClusterAdapter();
  cluster.attach(host);
  return { presence: new RoomPresence(cluster), delivered, cluster };
}

/** RoomPresence in a cluster: what it hands the adapter. */
function clustered() {
  const calls: unknown[][] = [];
  const cluster = {
    status: 'up',
    presenceChanged: (...args: unknown[]) => {
      const [roomId, userId, username, connections, diff, except] = args;
      calls.push([roomId, userId, username, connections, diff && JSON.parse(diff as string).data, except]);
    },
  } as unknown as ClusterAdapter;
  return { presence: new RoomPresence(cluster), calls };
}

const joins = (userId: string, username = userId) => ({
  room_id: 'r',
  joins: [{ user_id: userId, username }],
  leaves: [],
});
const leaves = (userId: string, username = userId) => ({
  room_id: 'r',
  joins: [],
  leaves: [{ user_id: userId, username }],
});

describe('RoomPresence', () => {
  it('on one node, announces a user to the room when its first tab arrives and its last one leaves', () => {
    const { presence, delivered } = oneNode();
    const room = roomWith();
    const observer = connection('obs');
    const [tab1, tab2] = [connection('kim', 'Kim'), connection('kim', 'Kim')];
    for (const member of [observer, tab1, tab2]) {
      room.add(member);
      presence.arrived(room, member);
    }
    // The arriving connection itself is left out of its own arrival.
    expect(delivered).toEqual([
      [joins('obs'), observer.id],
      [joins('kim', 'Kim'), tab1.id],
    ]);
    expect(presence.state('r')).toEqual([
      { user_id: 'obs', username: 'obs', connections: 1 },
      { user_id: 'kim', username: 'Kim', connections: 2 },
    ]);
    room.remove(tab1);
    presence.departed(room, 'kim');
    expect(delivered).toHaveLength(2);
    room.remove(tab2);
    presence.departed(room, 'kim');
    expect(delivered[2]).toEqual([leaves('kim', 'Kim'), undefined]);
    expect(presence.state('r')).toEqual([{ user_id: 'obs', username: 'obs', connections: 1 }]);
  });

  it('in a cluster, hands every change of this node’s share to the adapter, with a diff only when the user arrives or leaves here', () => {
    const { presence, calls } = clustered();
    const room = roomWith();
    const [tab1, tab2] = [connection('kim'), connection('kim')];
    room.add(tab1);
    presence.arrived(room, tab1);
    room.add(tab2);
    presence.arrived(room, tab2);
    room.remove(tab1);
    presence.departed(room, 'kim');
    room.remove(tab2);
    presence.departed(room, 'kim');
    expect(calls).toEqual([
      ['r', 'kim', 'kim', 1, joins('kim'), tab1.id],
      ['r', 'kim', 'kim', 2, undefined, tab2.id],
      ['r', 'kim', 'kim', 1, undefined, undefined],
      // The room is empty here; members on other nodes still get the leave.
      ['r', 'kim', 'kim', 0, leaves('kim'), undefined],
    ]);
  });

  it('counts but announces nothing where presence is off', () => {
    const { presence, calls } = clustered();
    const room = roomWith({ presence: false });
    const [a, b] = [connection('a'), connection('b')];
    room.add(a);
    room.add(b);
    presence.arrived(room, a);
    presence.arrived(room, b);
    expect(calls.map((call) => call[4])).toEqual([undefined, undefined]);
    expect(presence.state('r')).toHaveLength(2);
  });

  it('hands every arrival and departure to the adapter above the diff limit too (each node gathers what comes back)', () => {
    const { presence, calls } = clustered();
    const room = roomWith({ presenceDiffLimit: 1 });
    const [a, b] = [connection('a'), connection('b')];
    room.add(a);
    room.add(b);
    presence.arrived(room, a);
    presence.arrived(room, b);
    expect(calls.map((call) => call[4])).toEqual([joins('a'), joins('b')]);
  });

  it('moves a re-authenticated member from its old user to its new one', () => {
    const { presence, delivered } = oneNode();
    const room = roomWith();
    const observer = connection('obs');
    const member = connection('guest');
    for (const c of [observer, member]) {
      room.add(c);
      presence.arrived(room, c);
    }
    (member as { userId: string }).userId = 'alice';
    (member as unknown as { user: { username: string } }).user = { username: 'Alice' };
    presence.departed(room, 'guest');
    presence.arrived(room, member);
    expect(delivered.slice(2)).toEqual([
      [leaves('guest'), undefined],
      [joins('alice', 'Alice'), member.id],
    ]);
    expect(presence.state('r').map((entry) => entry.user_id)).toEqual(['obs', 'alice']);
  });

  it('ignores members without a user and departures of users it does not count', () => {
    const { presence, calls } = clustered();
    const room = roomWith();
    const anonymous = { id: 'anon', userId: undefined } as unknown as RealtimeConnection;
    room.add(anonymous);
    presence.arrived(room, anonymous);
    presence.departed(room, undefined);
    presence.departed(room, 'nobody');
    expect(calls).toEqual([]);
    expect(presence.state('r')).toEqual([]);
  });
});

import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { OutboundFrame } from '../../../lib/broadcast/outbound-frame.js';
import type { ClusterAdapter, ClusterHost } from '../../../lib/cluster/cluster.adapter.js';
import { InMemoryClusterAdapter } from '../../../lib/cluster/in-memory-cluster.adapter.js';
import type { RealtimeConnection } from '../../../lib/connections/realtime-connection.js';
import { PresenceWindows } from '../../../lib/presence/presence-windows.js';
import { RoomPresence } from '../../../lib/presence/room-presence.js';
import { presenceDiffJson } from '../../../lib/protocol/presence-diff.js';
import type { RoomDelivery } from '../../../lib/rooms/room-delivery.js';
import { DEFAULT_ROOM_SETTINGS, type RoomSettings } from '../../../lib/options/room-settings.js';
import { Room } from '../../../lib/rooms/room.js';

/**
 * Presence in a join storm, counted, not timed: how many frames are serialized (one
 * `deliverToRoom` call each: a broadcast is serialized and framed once) and how many reach members
 * (the room's members at that call, less the one left out). Windows run on fake timers.
 */

let nextId = 0;
const byId = new Map<string, RealtimeConnection>();
function connection(userId: string): RealtimeConnection {
  const made = { id: `c${++nextId}`, userId, user: { username: `U${userId}` } } as unknown as RealtimeConnection;
  byId.set(made.id, made);
  return made;
}

interface Sent {
  type: string;
  data: { joins: unknown; leaves: unknown };
  members: number;
}

/**
 * RoomPresence on one node (the in-memory adapter hands each diff back, and PresenceWindows
 * delivers it, as the rooms layer does) or in a cluster (`up`: what it publishes is kept, and the
 * test hands diffs "from the cluster" to the windows itself). `current` is the room the host finds
 * under its id (the latest one made).
 */
function node(status: 'off' | 'up' = 'off') {
  const sent: Sent[] = [];
  const delivery = {
    deliverToRoom: (target: Room, _s: number, _e: string, frame: OutboundFrame, _p: unknown, except?: unknown) => {
      const parsed = JSON.parse(frame.payload.toString()) as Sent;
      const left = except !== undefined && target.members.has(except as never) ? 1 : 0;
      sent.push({ ...parsed, members: target.size - left });
    },
  } as unknown as RoomDelivery;
  const published: string[] = [];
  // What the rooms layer does with a diff the adapter hands back (RoomBroadcaster).
  const windows = new PresenceWindows(delivery, (roomId) => (current.id === roomId ? current : undefined));
  let cluster: ClusterAdapter;
  if (status === 'off') {
    const host = {
      deliverPresence: (_roomId: string, frame: string, exceptId: string | undefined) =>
        windows.deliver(current, frame, exceptId === undefined ? undefined : byId.get(exceptId)),
    } as unknown as ClusterHost;
    const inMemory = new InMemoryClusterAdapter();
    inMemory.attach(host);
    cluster = inMemory;
  } else {
    cluster = {
      status,
      presenceChanged: (...args: unknown[]) => {
        if (args[4] !== undefined) published.push(args[4] as string);
      },
    } as unknown as ClusterAdapter;
  }
  const presence = new RoomPresence(cluster);
  const frames = () => sent.length;
  const writes = () => sent.reduce((sum, s) => sum + s.members, 0);
  return { presence, windows, sent, published, frames, writes };
}

let current: Room;
function room(settings: RoomSettings): Room {
  return (current = new Room('big', { ...DEFAULT_ROOM_SETTINGS, ...settings }));
}

/** `count` users join the room one after the other, `perWindow` of them within each window. */
function storm(n: ReturnType<typeof node>, target: Room, count: number, perWindow: number, from = 0): void {
  for (let i = from; i < from + count; i++) {
    const member = connection(`u${i}`);
    target.add(member);
    n.presence.arrived(target, member);
    if ((i + 1 - from) % perWindow === 0) jest.advanceTimersByTime(target.settings.presenceDiffInterval);
  }
  jest.advanceTimersByTime(target.settings.presenceDiffInterval);
}

describe('presence in a join storm (counted)', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('above the limit, sends one frame per window to each member, with every arrival of the window listed', () => {
    const n = node();
    const big = room({ presenceDiffLimit: 10, presenceDiffMaxUsers: 10_000 });
    storm(n, big, 10, 1);
    // Up to the limit, one arrival per interval: one diff per arrival, at once, to everyone but
    // the arriving member (the first one's to nobody: not even serialized).
    expect(n.frames()).toBe(9);
    expect(n.writes()).toBe((10 * 9) / 2);
    n.sent.length = 0;

    storm(n, big, 1000, 1000, 10);
    // 1 000 more arrivals within one interval: the first (10 writes) fits the budget; the 999
    // others make one frame, serialized once, to the 1 010 members.
    expect(n.frames()).toBe(2);
    expect(n.writes()).toBe(10 + 1010);
    const joined = (n.sent[1].data.joins as { user_id: string }[]).map((user) => user.user_id);
    expect(joined).toEqual(Array.from({ length: 999 }, (_, i) => `u${i + 11}`));
  });

  it('costs O(members) frame writes per window: doubling the storm within a window doubles them, not quadruples', () => {
    const counted = (size: number) => {
      const n = node();
      storm(n, room({ presenceDiffLimit: 0, presenceDiffMaxUsers: 1_000_000 }), size, size);
      return { frames: n.frames(), writes: n.writes() };
    };
    expect(counted(2000)).toEqual({ frames: 1, writes: 2000 });
    expect(counted(4000)).toEqual({ frames: 1, writes: 4000 });
    expect(counted(8000)).toEqual({ frames: 1, writes: 8000 });
  });

  it('serializes one frame per room and window however the storm is spread (≤ members per window)', () => {
    const n = node();
    const big = room({ presenceDiffLimit: 0, presenceDiffMaxUsers: 1_000_000 });
    storm(n, big, 5000, 500);
    expect(n.frames()).toBe(10);
    // Each window reaches the members present at its end: 500, 1 000, … 5 000.
    expect(n.writes()).toBe(500 * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10));
    // (The first arrival went to nobody at once: it is in no window.)
    expect(n.sent.map((s) => (s.data.joins as unknown[]).length)).toEqual([499, ...Array(9).fill(500)]);
  });

  it('sends presence_reset with counts instead of a list above presenceDiffMaxUsers', () => {
    const n = node();
    const big = room({ presenceDiffLimit: 0, presenceDiffMaxUsers: 100 });
    storm(n, big, 150, 150);
    expect(n.sent).toEqual([
      {
        type: 'presence_reset',
        room: 'big',
        data: { room_id: 'big', joins: 149, leaves: 0 },
        members: 150,
        timestamp: expect.any(String),
      },
    ]);
  });

  it('keeps each user’s latest change in a window, in the order of the latest changes', () => {
    const n = node();
    const big = room({ presenceDiffLimit: 0 });
    const [a, b, c] = [connection('a'), connection('b'), connection('c')];
    for (const member of [a, b, c]) {
      big.add(member);
      n.presence.arrived(big, member);
    }
    // a joins then leaves, b leaves then comes back: a member that read the state mid-window
    // may have seen a, so "a left" is sent rather than nothing.
    big.remove(a);
    n.presence.departed(big, 'a');
    big.remove(b);
    n.presence.departed(big, 'b');
    const b2 = connection('b');
    big.add(b2);
    n.presence.arrived(big, b2);
    jest.advanceTimersByTime(1000);
    expect(n.sent.map((s) => s.data)).toEqual([
      {
        room_id: 'big',
        joins: [
          { user_id: 'c', username: 'Uc' },
          { user_id: 'b', username: 'Ub' },
        ],
        leaves: [{ user_id: 'a', username: 'Ua' }],
      },
    ]);
  });

  it('keeps gathering while a window is open even below the limit, so that no change overtakes an earlier one', () => {
    const n = node();
    const big = room({ presenceDiffLimit: 2 });
    const members = ['a', 'b', 'c'].map((id) => connection(id));
    for (const member of members) {
      big.add(member);
      n.presence.arrived(big, member);
    }
    // a's join goes to nobody; b's costs 1 write; c's would cost 2 more, above the budget of 2:
    // it waits in a window.
    expect(n.sent.map((s) => s.data.joins)).toEqual([[{ user_id: 'b', username: 'Ub' }]]);
    big.remove(members[2]);
    n.presence.departed(big, 'c'); // the window is open: c's leave joins it rather than overtake it
    expect(n.frames()).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(n.sent[1].data).toEqual({ room_id: 'big', joins: [], leaves: [{ user_id: 'c', username: 'Uc' }] });
    // The window is closed and a new interval began: the next change is sent at once again,
    // until the interval's budget (2 writes) is spent.
    const [d, e] = [connection('d'), connection('e')];
    big.add(d);
    n.presence.arrived(big, d);
    expect(n.frames()).toBe(3);
    big.add(e);
    n.presence.arrived(big, e);
    expect(n.frames()).toBe(3);
    jest.advanceTimersByTime(1000);
    expect(n.frames()).toBe(4);
    expect(n.sent[3].data.joins).toEqual([{ user_id: 'e', username: 'Ue' }]);
  });

  it('below the limit, sends changes at once only while they cost at most presenceDiffLimit writes per interval', () => {
    // A room of 500 on this node (of a bigger one in a cluster): a storm of received diffs.
    const n = node('up');
    const busy = room({ presenceDiffLimit: 1000, presenceDiffMaxUsers: 1000 });
    for (let i = 0; i < 500; i++) busy.add(connection(`m${i}`));
    for (let i = 0; i < 100; i++) {
      n.windows.deliver(busy, presenceDiffJson('big', 'joins', `r${i}`, `R${i}`), undefined);
    }
    // Two diffs of 500 writes fit the budget; the 98 others wait for the window.
    expect(n.frames()).toBe(2);
    jest.advanceTimersByTime(1000);
    expect(n.frames()).toBe(3);
    expect((n.sent[2].data.joins as unknown[]).length).toBe(98);
    expect(n.writes()).toBe(1500);
  });

  it('in a cluster, each node gathers the diffs it receives for a room above its limit', () => {
    const n = node('up');
    const big = room({ presenceDiffLimit: 1, presenceDiffMaxUsers: 1000 });
    const local = [connection('a'), connection('b')];
    for (const member of local) big.add(member);
    for (let i = 0; i < 300; i++) {
      n.windows.deliver(big, presenceDiffJson('big', 'joins', `r${i}`, `R${i}`), undefined);
    }
    n.windows.deliver(big, presenceDiffJson('big', 'leaves', 'r7', 'R7'), undefined);
    expect(n.frames()).toBe(0);
    jest.advanceTimersByTime(1000);
    expect(n.frames()).toBe(1);
    expect((n.sent[0].data.joins as unknown[]).length).toBe(299);
    expect(n.sent[0].data.leaves).toEqual([{ user_id: 'r7', username: 'R7' }]);
    expect(n.sent[0].members).toBe(2);
  });

  it('in a cluster, a room at or below its limit gets each received diff at once', () => {
    const n = node('up');
    const small = room({});
    const [a, b] = [connection('a'), connection('b')];
    small.add(a);
    small.add(b);
    n.windows.deliver(small, presenceDiffJson('big', 'joins', 'x', 'X'), a);
    expect(n.sent).toHaveLength(1);
    expect(n.sent[0].members).toBe(1);
  });

  it('in a cluster, a room with presence off gets no received diff (a purge announces in every room)', () => {
    const n = node('up');
    const off = room({ presence: false });
    off.add(connection('a'));
    off.add(connection('b'));
    n.windows.deliver(off, presenceDiffJson('big', 'leaves', 'x', 'X'), undefined);
    jest.advanceTimersByTime(1000);
    expect(n.sent).toHaveLength(0);
    expect(n.windows.size).toBe(0);
  });

  it('keeps the leaves of a room emptied within a window for the room made anew', () => {
    const n = node();
    const first = room({ presenceDiffLimit: 0 });
    const [a, b] = [connection('a'), connection('b')];
    for (const member of [a, b]) {
      first.add(member);
      n.presence.arrived(first, member);
    }
    expect(n.frames()).toBe(0); // a's join goes to nobody; b's waits

    for (const [member, id] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      first.remove(member);
      n.presence.departed(first, id);
    }
    const again = room({ presenceDiffLimit: 0 });
    const c = connection('c');
    again.add(c);
    n.presence.arrived(again, c);
    jest.advanceTimersByTime(1000);
    expect(n.sent).toHaveLength(1);
    expect(n.sent[0].members).toBe(1);
    expect(n.sent[0].data).toEqual({
      room_id: 'big',
      joins: [{ user_id: 'c', username: 'Uc' }],
      leaves: [
        { user_id: 'a', username: 'Ua' },
        { user_id: 'b', username: 'Ub' },
      ],
    });
    expect(n.windows.size).toBe(0);
  });
});

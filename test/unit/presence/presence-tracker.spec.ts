import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { PresenceTracker } from '../../../lib/presence/presence-tracker.js';

describe('PresenceTracker', () => {
  it('counts a user with several connections as one presence that arrives with the first and departs with the last', () => {
    const tracker = new PresenceTracker();
    expect(tracker.add('r', 'kim', 'Kim')).toBe(1);
    expect(tracker.add('r', 'kim', 'Kim (tab 2)')).toBe(2);
    expect(tracker.state('r')).toEqual([{ user_id: 'kim', username: 'Kim', connections: 2 }]);
    expect(tracker.remove('r', 'kim')).toBe(1);
    expect(tracker.state('r')).toEqual([{ user_id: 'kim', username: 'Kim', connections: 1 }]);
    expect(tracker.remove('r', 'kim')).toBe(0);
    expect(tracker.state('r')).toEqual([]);
    expect(tracker.roomCount).toBe(0);
  });

  it('changes nothing for a user it does not count', () => {
    const tracker = new PresenceTracker();
    tracker.add('r', 'kim', 'Kim');
    expect(tracker.remove('r', 'lee')).toBe(-1);
    expect(tracker.remove('elsewhere', 'kim')).toBe(-1);
    expect(tracker.state('r')).toEqual([{ user_id: 'kim', username: 'Kim', connections: 1 }]);
  });

  it('keeps rooms apart', () => {
    const tracker = new PresenceTracker();
    tracker.add('a', 'kim', 'Kim');
    tracker.add('b', 'kim', 'Kim');
    expect(tracker.remove('a', 'kim')).toBe(0);
    expect(tracker.connections('b', 'kim')).toBe(1);
    expect(tracker.username('b', 'kim')).toBe('Kim');
    expect(tracker.username('a', 'kim')).toBeUndefined();
  });

  it('agrees with a plain multiset model on any sequence of joins and leaves', () => {
    const room = fc.constantFrom('r1', 'r2', 'r3');
    const user = fc.constantFrom('u1', 'u2', 'u3');
    const step = fc.record({ add: fc.boolean(), room, user });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const tracker = new PresenceTracker();
        const model = new Map<string, number>();
        for (const { add, room: roomId, user: userId } of steps) {
          const key = `${roomId}/${userId}`;
          const before = model.get(key) ?? 0;
          if (add) {
            model.set(key, before + 1);
            // Arrival is exactly the step from 0 to 1.
            expect(tracker.add(roomId, userId, userId)).toBe(before + 1);
          } else {
            if (before > 0) model.set(key, before - 1);
            if (before === 1) model.delete(key);
            // Departure is exactly the step from 1 to 0; nothing happens below it.
            expect(tracker.remove(roomId, userId)).toBe(before > 0 ? before - 1 : -1);
          }
        }
        const seen = new Map<string, number>();
        for (const roomId of ['r1', 'r2', 'r3']) {
          for (const entry of tracker.state(roomId)) seen.set(`${roomId}/${entry.user_id}`, entry.connections);
        }
        expect(seen).toEqual(model);
        const rooms = new Set([...model.keys()].map((key) => key.split('/')[0]));
        expect(tracker.roomCount).toBe(rooms.size);
      }),
    );
  });
});

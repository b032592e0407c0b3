import { describe, expect, it } from '@jest/globals';
import { OfflineQueueFullError } from '../../lib/client/index.js';
import { OfflineQueue } from '../../lib/client/offline-queue.js';
import { RequestTracker } from '../../lib/client/request-tracker.js';
import { FrameVerdict, RoomPositions } from '../../lib/client/room-positions.js';
import { tokenExpiry } from '../../lib/client/token-source.js';
import { hsToken } from '../support/tokens.js';

describe('client parts', () => {
  it('RoomPositions: resumable positions, unknown ones, and verdicts per epoch', () => {
    const rooms = new RoomPositions();
    rooms.set('a', 3, 'e1');
    rooms.set('b', undefined, undefined);
    expect(rooms.resumable()).toEqual({ a: { seq: 3, epoch: 'e1' } });
    expect(rooms.unpositioned()).toEqual(['b']);
    expect(rooms.accept('a', 3, 'e1')).toBe(FrameVerdict.DUPLICATE);
    expect(rooms.accept('a', 4, 'e1')).toBe(FrameVerdict.DELIVER);
    expect(rooms.accept('a', 4, 'e1')).toBe(FrameVerdict.DUPLICATE);
    expect(rooms.accept('a', 1, 'e2')).toBe(FrameVerdict.NEW_EPOCH);
    expect(rooms.position('a')).toEqual({ seq: 1, epoch: 'e2' });
    expect(rooms.accept('b', 9, 'e1')).toBe(FrameVerdict.DELIVER); // first known position
    expect(rooms.position('b')).toEqual({ seq: 9, epoch: 'e1' });
    // A room the client is not in (a frame that crossed its leave): delivered, not tracked — every
    // join, the server's own included, announces itself with room_joined first.
    expect(rooms.accept('c', 5, 'e1')).toBe(FrameVerdict.DELIVER);
    expect(rooms.roomIds()).toEqual(['a', 'b']);
    rooms.delete('b');
    expect(rooms.has('b')).toBe(false);
  });

  it('RequestTracker: a resume is answered by resumed or an error, not by the frames on its way that carry its id', async () => {
    const tracker = new RequestTracker(() => undefined);
    const id = tracker.nextId();
    const reply = tracker.track(id, 'resume', 1000);
    for (const type of ['resume_failed', 'room_left', 'room_joined']) {
      expect(tracker.settle({ type, id, data: { room_id: 'a' } })).toBe(false);
    }
    expect(tracker.size).toBe(1);
    expect(tracker.settle({ type: 'resumed', id, data: { rooms: ['b'] } })).toBe(true);
    await expect(reply).resolves.toMatchObject({ type: 'resumed' });
    const join = tracker.track(tracker.nextId(), 'join_room', 1000);
    expect(tracker.settle({ type: 'room_joined', id: 'r2', data: { room_id: 'c' } })).toBe(true);
    await expect(join).resolves.toMatchObject({ type: 'room_joined' });
  });

  it('OfflineQueue: bounded, in order, and drops a timed-out request', () => {
    const queue = new OfflineQueue(3);
    queue.push('1', 'chat');
    queue.push('2', 'echo', 'r1');
    queue.push('3', 'chat');
    expect(() => queue.push('4', 'chat')).toThrow(OfflineQueueFullError);
    queue.removeRequest('r1');
    expect(queue.drain().map((frame) => frame.text)).toEqual(['1', '3']);
    expect(queue.size).toBe(0);
    expect(() => new OfflineQueue(-1)).toThrow(/offlineQueueSize/);
  });

  it('tokenExpiry reads exp without verifying, and tolerates garbage', () => {
    const exp = Math.floor(Date.now() / 1000) + 60;
    expect(tokenExpiry(hsToken({ user_id: 'u', exp }))).toBe(exp * 1000);
    for (const bad of ['', 'abc', 'a.b.c', 'a.bnVsbA.c', 'a.eyJleHAiOiJzb29uIn0.c']) {
      expect(tokenExpiry(bad)).toBeUndefined();
    }
  });
});

import { describe, expect, it } from '@jest/globals';
import { ConnectionLostError, type Envelope, RealtimeRequestError } from '../../lib/client/index.js';
import { RequestTracker } from '../../lib/client/request-tracker.js';

/** A tracker and helpers to send requests in wire order and watch how they settle. */
function setup() {
  const tracker = new RequestTracker(() => undefined);
  const outcomes = new Map<string, string>();
  const send = (type: string, chat?: { room_id: string; content: string }, resend?: string) => {
    const id = tracker.nextId();
    tracker.track(id, type, 10_000, { chat, resend, leaves: type === 'leave_room' ? 'room' : undefined }).then(
      () => outcomes.set(id, 'ok'),
      (error: Error) => outcomes.set(id, error instanceof RealtimeRequestError ? error.code : error.name),
    );
    tracker.markSent(id);
    return id;
  };
  const echo = (room: string, content: string, user = 'ann'): Envelope => ({
    type: 'chat_message',
    room,
    seq: 1,
    epoch: 'e',
    data: { room_id: room, user_id: user, username: user, content, timestamp: '' },
  });
  const settled = () => new Promise((resolve) => setImmediate(resolve)).then(() => Object.fromEntries(outcomes));
  return { tracker, send, echo, settled };
}

describe('RequestTracker: chat, which has no reply of its own', () => {
  it('is accepted by its own copy while it is the oldest request on the wire', async () => {
    const { tracker, send, echo, settled } = setup();
    const a = send('chat', { room_id: 'r', content: 'a' });
    const b = send('chat', { room_id: 'r', content: 'b' });
    expect(tracker.settle(echo('r', 'b'), 'ann')).toBe(false); // not b's turn yet
    expect(tracker.settle(echo('r', 'a', 'bob'), 'ann')).toBe(false); // someone else's
    expect(tracker.settle(echo('r', 'a'), 'ann')).toBe(true);
    expect(tracker.settle(echo('r', 'b'), 'ann')).toBe(true);
    expect(await settled()).toEqual({ [a]: 'ok', [b]: 'ok' });
  });

  it('is not taken for accepted on a look-alike copy while an earlier request is unanswered', async () => {
    const { tracker, send, echo, settled } = setup();
    // leave_room, then chat: another tab of the same user says the same thing before the leave is
    // answered; this chat will be refused.
    const leave = send('leave_room');
    const chat = send('chat', { room_id: 'r', content: 'hi' });
    expect(tracker.settle(echo('r', 'hi'), 'ann')).toBe(false);
    tracker.settle({ type: 'room_left', id: leave, data: { room_id: 'r' } });
    tracker.settle({ type: 'error', id: chat, data: { code: 'NOT_IN_ROOM', message: 'x' } });
    expect(await settled()).toEqual({ [leave]: 'ok', [chat]: 'NOT_IN_ROOM' });
  });

  it('is accepted when a later in-order request is answered (its copy was not recognised)', async () => {
    const { tracker, send, settled } = setup();
    const chat = send('chat', { room_id: 'r', content: 'filtered by the server' });
    const custom = send('my_app_type'); // may be concurrent: tells nothing
    tracker.settle({ type: 'my_app_reply', id: custom });
    expect(await settled()).toEqual({ [custom]: 'ok' });
    const ping = send('echo');
    tracker.settle({ type: 'echo_response', id: ping });
    expect(await settled()).toEqual({ [custom]: 'ok', [chat]: 'ok', [ping]: 'ok' });
  });

  it('a refused chat settles the chats before it as accepted', async () => {
    const { tracker, send, settled } = setup();
    const first = send('chat', { room_id: 'r', content: 'x' });
    const second = send('chat', { room_id: 'q', content: 'y' });
    tracker.settle({ type: 'error', id: second, data: { code: 'NOT_IN_ROOM', message: 'x' } });
    expect(await settled()).toEqual({ [first]: 'ok', [second]: 'NOT_IN_ROOM' });
  });

  it('a lost connection rejects what was on the wire but hands back a leave to send again', async () => {
    const { tracker, send, settled } = setup();
    const chat = send('chat', { room_id: 'r', content: 'x' });
    const leave = send('leave_room', undefined, '{"type":"leave_room"}');
    expect(tracker.rejectOnTheWire()).toEqual([{ id: leave, type: 'leave_room', text: '{"type":"leave_room"}' }]);
    expect(tracker.roomsBeingLeft()).toEqual(['room']);
    expect(await settled()).toEqual({ [chat]: new ConnectionLostError('chat').name });
    tracker.markSent(leave);
    tracker.settle({ type: 'room_left', id: leave, data: { room_id: 'room' } });
    expect(await settled()).toMatchObject({ [leave]: 'ok' });
    expect(tracker.size).toBe(0);
  });
});

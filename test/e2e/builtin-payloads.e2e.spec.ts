import { describe, expect, it } from '@jest/globals';
import { useCleanup } from '../support/cleanup.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';

/** The default `content` limit of PROTOCOL.md (`chat`: "at most 65,536 characters by default"). */
const CONTENT_LIMIT = 65_536;

/** Built-in types whose `data` has required fields, with a valid `data` for each. */
const VALID_DATA: Record<string, Record<string, unknown>> = {
  join_room: { room_id: 'p-room' },
  leave_room: { room_id: 'p-room' },
  chat: { room_id: 'p-room', content: 'hi' },
  private_message: { target_user_id: 'bob', content: 'hi' },
  admin_message: { content: 'hi' },
  presence: { room_id: 'p-room' },
  resume: { session_id: 's', rooms: {} },
};

/** Malformed `data` values: not an object, or each required field missing, empty or of another type. */
function malformed(valid: Record<string, unknown>): [string, unknown][] {
  const cases: [string, unknown][] = [
    ['no data', undefined],
    ['null', null],
    ['a string', 'x'],
    ['an array', [valid]],
    ['a number', 7],
  ];
  for (const field of Object.keys(valid)) {
    if (field === 'rooms') {
      cases.push([`${field} an array`, { ...valid, rooms: [] }]);
      continue;
    }
    const { [field]: _, ...without } = valid;
    cases.push([`${field} missing`, without]);
    cases.push([`${field} empty`, { ...valid, [field]: '' }]);
    cases.push([`${field} a number`, { ...valid, [field]: 1 }]);
    cases.push([`${field} an object`, { ...valid, [field]: { [field]: valid[field] } }]);
  }
  return cases;
}

describe('built-in message payloads (e2e)', () => {
  const cleanup = useCleanup();

  async function start(options: Parameters<typeof createTestApp>[0] = {}): Promise<TestApp> {
    return cleanup.track(await createTestApp({ auth: { secret: TEST_SECRET }, rateLimit: false, ...options }));
  }

  async function login(t: TestApp, userId: string, roles: string[] = []): Promise<TestClient> {
    const client = cleanup.track(await TestClient.connect(`${t.url}?token=${hsToken({ user_id: userId, roles })}`));
    await client.next('auth_success');
    return client;
  }

  it.each(Object.keys(VALID_DATA))(
    'answers BAD_REQUEST to every malformed data of %s, and works after',
    async (type) => {
      const t = await start();
      const admin = await login(t, 'ann', ['admin']);
      await login(t, 'bob');
      await admin.request({ type: 'join_room', id: 'j', data: { room_id: 'p-room' } });
      for (const [label, data] of malformed(VALID_DATA[type])) {
        const answer = await admin.request({ type, id: label, data });
        expect({ label, type: answer.type, code: answer.data?.code }).toEqual({
          label,
          type: 'error',
          code: 'BAD_REQUEST',
        });
        expect(typeof answer.data.message).toBe('string');
      }
      // The connection is fine: the valid form of the same message is accepted (some have no
      // reply; the pong of a later ping says all answers before it are in).
      admin.send({ type, id: 'valid', data: VALID_DATA[type] });
      await admin.request({ type: 'ping', id: 'after' });
      expect(admin.frames.filter((f) => f.id === 'valid' && f.type === 'error')).toEqual([]);
    },
  );

  it("answers auth's malformed data with auth_error AUTH_FAILED, and the identity stays", async () => {
    const t = await start();
    const ann = await login(t, 'ann');
    for (const data of [undefined, null, 'x', [], {}, { token: '' }, { token: 5 }, { token: {} }]) {
      const answer = await ann.request({ type: 'auth', id: 'a', data: data as never });
      expect(answer).toMatchObject({ type: 'auth_error', data: { code: 'AUTH_FAILED' } });
    }
    expect(await ann.request({ type: 'join_room', id: 'j', data: { room_id: 'still-me' } })).toMatchObject({
      type: 'room_joined',
    });
  });

  it.each([
    ['chat', (content: string) => ({ room_id: 'p-room', content })],
    ['private_message', (content: string) => ({ target_user_id: 'bob', content })],
    ['admin_message', (content: string) => ({ content })],
  ])(`takes a %s content of ${CONTENT_LIMIT} characters and refuses one more`, async (type, data) => {
    const t = await start();
    const ann = await login(t, 'ann', ['admin']);
    const bob = await login(t, 'bob');
    await ann.request({ type: 'join_room', id: 'j', data: { room_id: 'p-room' } });
    const tooLong = await ann.request({ type, id: 'long', data: data('x'.repeat(CONTENT_LIMIT + 1)) });
    expect(tooLong).toMatchObject({
      type: 'error',
      id: 'long',
      data: { code: 'BAD_REQUEST', message: `data.content must be at most ${CONTENT_LIMIT} characters` },
    });
    ann.send({ type, id: 'max', data: data('y'.repeat(CONTENT_LIMIT)) });
    const receiver = type === 'chat' ? ann : bob;
    const delivered = await receiver.next({ chat: 'chat_message', admin_message: 'announcement' }[type] ?? type);
    expect(delivered.data.content).toBe('y'.repeat(CONTENT_LIMIT));
  });

  it('refuses a join past maxRoomsPerConnection with FORBIDDEN, and takes it again after a leave', async () => {
    const t = await start({ maxRoomsPerConnection: 3 });
    const ann = await login(t, 'ann');
    for (const room of ['r1', 'r2', 'r3']) {
      expect((await ann.request({ type: 'join_room', id: room, data: { room_id: room } })).type).toBe('room_joined');
    }
    // Joining a room it is already in does not count as one more.
    expect((await ann.request({ type: 'join_room', id: 'again', data: { room_id: 'r2' } })).type).toBe('room_joined');
    expect(await ann.request({ type: 'join_room', id: 'r4', data: { room_id: 'r4' } })).toMatchObject({
      type: 'error',
      id: 'r4',
      data: { code: 'FORBIDDEN', message: 'a connection may be in at most 3 rooms' },
    });
    // The limit is per connection: another connection of the same user has its own.
    const annAgain = await login(t, 'ann');
    expect((await annAgain.request({ type: 'join_room', id: 'r4', data: { room_id: 'r4' } })).type).toBe('room_joined');
    await ann.request({ type: 'leave_room', id: 'l', data: { room_id: 'r1' } });
    expect((await ann.request({ type: 'join_room', id: 'r4b', data: { room_id: 'r4' } })).type).toBe('room_joined');
  });
});

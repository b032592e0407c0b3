import { Injectable } from '@nestjs/common';
import { describe, expect, it } from '@jest/globals';
import { OnRealtimeEvent, type RealtimeEventMap, SessionManager } from '../../lib/index.js';
import { useCleanup } from '../support/cleanup.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';

/** Records the message events as an application would, through `@OnRealtimeEvent`. */
@Injectable()
class MessageEventRecorder {
  readonly received: { connection: string; type: string; id: unknown; data: unknown }[] = [];
  readonly rejected: { connection: string; type: string | undefined; code: string }[] = [];

  @OnRealtimeEvent('message.received')
  onReceived({ connection, message }: RealtimeEventMap['message.received']): void {
    this.received.push({ connection: connection.id, type: message.type, id: message.id, data: message.data });
  }

  @OnRealtimeEvent('message.rejected')
  onRejected({ connection, type, code }: RealtimeEventMap['message.rejected']): void {
    this.rejected.push({ connection: connection.id, type, code });
  }
}

describe('message events and kicks (e2e)', () => {
  const cleanup = useCleanup();

  async function start(): Promise<TestApp> {
    return cleanup.track(
      await createTestApp({ auth: { secret: TEST_SECRET }, rateLimit: false }, { providers: [MessageEventRecorder] }),
    );
  }

  async function login(t: TestApp, userId: string): Promise<{ client: TestClient; id: string }> {
    const client = cleanup.track(await TestClient.connect(`${t.url}?token=${hsToken({ user_id: userId })}`));
    const id = (await client.next('connected')).data.client_id as string;
    await client.next('auth_success');
    return { client, id };
  }

  it('emits message.received for each handled message and message.rejected with its type and code', async () => {
    const t = await start();
    const recorder = t.app.get(MessageEventRecorder);
    const { client: ann, id } = await login(t, 'ann');
    await ann.request({ type: 'echo', id: 'e1', data: { n: 1 } });
    ann.sendRaw('{not json');
    await ann.request({ type: 'no_such_type', id: 'u' });
    await ann.request({ type: 'chat', id: 'c', data: { room_id: 'nowhere', content: 'x' } });
    await ann.request({ type: 'join_room', id: 'b', data: { room_id: 'bad room id!' } });
    await ann.request({ type: 'admin_message', id: 'a', data: { content: 'x' } });
    await ann.request({ type: 'ping', id: 'last' });

    // Received: every message that reached a handler, malformed or refused ones too, in order.
    expect(recorder.received).toEqual([
      { connection: id, type: 'echo', id: 'e1', data: { n: 1 } },
      { connection: id, type: 'chat', id: 'c', data: { room_id: 'nowhere', content: 'x' } },
      { connection: id, type: 'join_room', id: 'b', data: { room_id: 'bad room id!' } },
      { connection: id, type: 'admin_message', id: 'a', data: { content: 'x' } },
      { connection: id, type: 'ping', id: 'last', data: undefined },
    ]);
    expect(recorder.rejected).toEqual([
      { connection: id, type: undefined, code: 'BAD_MESSAGE' },
      { connection: id, type: 'no_such_type', code: 'UNKNOWN_TYPE' },
      { connection: id, type: 'chat', code: 'NOT_IN_ROOM' },
      { connection: id, type: 'join_room', code: 'BAD_REQUEST' },
      { connection: id, type: 'admin_message', code: 'INSUFFICIENT_PERMISSIONS' },
    ]);
  });

  it('closes every connection of a kicked user with 4003 and the reason given, and only theirs', async () => {
    const t = await start();
    const first = await login(t, 'mallory');
    const second = await login(t, 'mallory');
    const { client: bob } = await login(t, 'bob');
    expect(t.app.get(SessionManager).disconnectUser('mallory', 'banned for spam')).toBe(2);
    for (const { client } of [first, second]) {
      expect(await client.closed).toEqual({ code: 4003, reason: 'banned for spam' });
    }
    expect(await bob.request({ type: 'echo', id: 'still', data: 1 })).toMatchObject({ type: 'echo_response' });
  });

  it('gives a default kick reason, and cuts a long one to the 123 bytes a close frame holds', async () => {
    const t = await start();
    const plain = await login(t, 'plain');
    t.app.get(SessionManager).disconnectUser('plain');
    expect(await plain.client.closed).toEqual({ code: 4003, reason: 'disconnected by the server' });

    const long = await login(t, 'long');
    t.app.get(SessionManager).disconnectUser('long', 'x'.repeat(500));
    expect(await long.client.closed).toEqual({ code: 4003, reason: 'x'.repeat(123) });

    // A close reason holds 123 UTF-8 bytes, not characters: 61 'é' (2 bytes each), and a
    // character is never cut in half (an emoji is 4 bytes: 30 of them).
    for (const [userId, reason, expected] of [
      ['accented', 'é'.repeat(200), 'é'.repeat(61)],
      ['emoji', '🚫'.repeat(100), '🚫'.repeat(30)],
    ]) {
      const kicked = await login(t, userId);
      expect(t.app.get(SessionManager).disconnectUser(userId, reason)).toBe(1);
      expect(await kicked.client.closed).toEqual({ code: 4003, reason: expected });
    }
  });
});

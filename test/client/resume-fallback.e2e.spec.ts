import { afterEach, describe, expect, it } from '@jest/globals';
import { WebSocket } from 'ws';
import { type ChatMessageData, RealtimeClient, type ResumeFailedData } from '../../lib/client/index.js';
import { ConnectionManager } from '../../lib/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';
import { nextEvent } from './sample-server.js';

/**
 * When the server cannot resume (no `resume` handler, or the session is not this user's), the
 * client joins its rooms again and tells the app with `resume_failed`, so it can reload them.
 */
describe('resume fallbacks (e2e)', () => {
  let t: TestApp | undefined;
  const clients: RealtimeClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.disconnect()));
    await t?.close();
    t = undefined;
  });

  const client = (token: () => string) => {
    const created = new RealtimeClient({
      url: t!.url,
      WebSocket,
      token,
      heartbeat: false,
      reconnect: { baseDelay: 20, maxDelay: 50 },
    });
    clients.push(created);
    return created;
  };
  const drop = (userId: string) => {
    for (const connection of t!.app.get(ConnectionManager).getByUser(userId)) connection.terminate();
  };

  it('joins again and reports resume_unsupported when the server has no resume (UNKNOWN_TYPE)', async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET }, builtins: { resume: false } });
    const ann = client(() => hsToken({ user_id: 'ann' }));
    const bob = client(() => hsToken({ user_id: 'bob' }));
    await Promise.all([ann.connect(), bob.connect()]);
    await ann.join('r1');
    await bob.join('r1');
    const seen: string[] = [];
    ann.on('chat_message', (message) => seen.push(message.content));
    bob.chat('r1', 'before');
    await until(() => seen.length === 1);

    const failures: ResumeFailedData[] = [];
    ann.onEvent('resume_failed', (event) => failures.push(event));
    const reopened = nextEvent(ann, 'open');
    drop('ann');
    await reopened;
    expect(failures).toEqual([{ room_id: 'r1', reason: 'resume_unsupported', seq: 1, epoch: expect.any(String) }]);
    expect(ann.joinedRooms).toEqual(['r1']);
    bob.chat('r1', 'after');
    await until(() => seen.length === 2);
    expect(seen).toEqual(['before', 'after']);
  });

  it('joins again and reports resume_refused when the session belongs to another user (FORBIDDEN)', async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET } });
    // The token provider logs in as someone else on the reconnect.
    let user = 'ann';
    const client1 = client(() => hsToken({ user_id: user }));
    await client1.connect();
    await client1.join('r2');
    const failures: ResumeFailedData[] = [];
    client1.onEvent('resume_failed', (event) => failures.push(event));
    const reopened = nextEvent(client1, 'open');
    user = 'eve';
    drop('ann');
    await reopened;
    expect(client1.user?.user_id).toBe('eve');
    expect(failures).toEqual([{ room_id: 'r2', reason: 'resume_refused', seq: 0, epoch: expect.any(String) }]);
    const messages: ChatMessageData[] = [];
    client1.on('chat_message', (message) => messages.push(message));
    client1.chat('r2', 'as eve');
    await until(() => messages.length === 1);
    expect(messages[0]).toMatchObject({ user_id: 'eve', content: 'as eve' });
  });
});

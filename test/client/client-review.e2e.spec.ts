import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RealtimeClient, type ResumeFailedData, TokenProviderError } from '../../lib/client/index.js';
import { useCleanup } from '../support/cleanup.js';
import { until } from '../support/until.js';
import { nextEvent, SampleServer } from './sample-server.js';

/**
 * What a review of the client found, played against the real sample server (these were scripted
 * with a fake server before; the scripts that stay in client-review.spec.ts say why each does).
 */
describe('RealtimeClient review regressions, against the sample server', () => {
  let server: SampleServer;
  const cleanup = useCleanup();
  const track = (client: RealtimeClient) => {
    cleanup.defer(() => client.disconnect());
    return client;
  };

  beforeAll(async () => {
    server = await SampleServer.start({ RATE_LIMIT_PER_SEC: '10000', RATE_LIMIT_BURST: '10000' });
  });
  afterAll(() => server.close());

  it('replays exactly what was missed when a join is queued behind the resume: no duplicate, no gap', async () => {
    const ann = track(server.client('ann-join', { reconnect: { baseDelay: 20, maxDelay: 20 } }));
    const bob = track(server.client('bob-join'));
    await Promise.all([ann.connect(), bob.connect()]);
    await ann.join('g-join');
    await bob.join('g-join');
    const seqs: (number | undefined)[] = [];
    ann.on('chat_message', (_data, envelope) => seqs.push(envelope.seq));
    await bob.chat('g-join', 'm1');
    await until(() => seqs.length === 1);

    const reconnecting = nextEvent(ann, 'reconnecting');
    server.dropUser('ann-join');
    await reconnecting;
    for (const content of ['m2', 'm3', 'm4']) await bob.chat('g-join', content);
    // Queued while reconnecting, sent after `resumed`: its room_joined must not move the room on.
    const joined = ann.join('g-join');
    await nextEvent(ann, 'open');
    await joined;
    await bob.chat('g-join', 'm5');
    await until(() => seqs.length >= 5);
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
  });

  it('retries with the backoff when the token provider fails, throws, returns nothing or hangs', async () => {
    let calls = 0;
    const provider = (): string | Promise<string> => {
      calls++;
      if (calls === 2) throw new Error('fetch failed');
      if (calls === 3) return Promise.reject(new Error('offline'));
      if (calls === 4) return undefined as unknown as string;
      if (calls === 5) return new Promise<string>(() => undefined); // never answers
      return server.token('tok-user');
    };
    const client = track(
      server.client('tok-user', { token: provider, tokenTimeout: 50, reconnect: { baseDelay: 20, maxDelay: 20 } }),
    );
    const errors: Error[] = [];
    client.onEvent('error', ({ error }) => errors.push(error));
    await client.connect();
    const reopened = nextEvent(client, 'open', 3000);
    server.dropUser('tok-user');
    await reopened;
    expect(calls).toBe(6);
    expect(client.state).toBe('open');
    expect(client.user?.user_id).toBe('tok-user');
    expect(errors.map((error) => error.name)).toEqual(Array(4).fill('TokenProviderError'));
    expect(errors[3]).toBeInstanceOf(TokenProviderError);
    expect(errors[3].message).toMatch(/within 50 ms/);
  });

  it('does not put the client back in a room it left while the resume ran', async () => {
    const ann = track(server.client('ann-leave', { reconnect: { baseDelay: 20, maxDelay: 20 } }));
    const bob = track(server.client('bob-leave'));
    await Promise.all([ann.connect(), bob.connect()]);
    await ann.join('g-leave');
    await bob.join('g-leave');
    const failures: ResumeFailedData[] = [];
    ann.onEvent('resume_failed', (event) => failures.push(event));
    const contents: string[] = [];
    ann.on('chat_message', (data) => contents.push(data.content));

    const reconnecting = nextEvent(ann, 'reconnecting');
    server.dropUser('ann-leave');
    await reconnecting;
    await bob.chat('g-leave', 'missed');
    const left = ann.leave('g-leave'); // queued, sent after `resumed` and the replay
    await nextEvent(ann, 'open');
    await left;
    await bob.chat('g-leave', 'after the leave');
    // A marker to ann alone: once it is in, anything of the room sent before it is in too.
    await ann.request('echo', 'marker');
    expect(ann.joinedRooms).toEqual([]);
    expect(server.connectionsOf('ann-leave').every((c) => !c.rooms.has('g-leave'))).toBe(true);
    // (The replayed 'missed' may be dropped by the client too: it is leaving that room.)
    expect(contents).not.toContain('after the leave');
    expect(failures).toEqual([]);
  });

  it('backs off further from a server that drops each connection right after it is open', async () => {
    const client = track(
      server.client('flappy', { random: () => 0.999999, reconnect: { baseDelay: 20, maxDelay: 1000, maxAttempts: 4 } }),
    );
    let opens = 0;
    // The real server cuts each connection as soon as the client has it open (a crash loop).
    client.onEvent('open', () => {
      opens++;
      server.dropUser('flappy');
    });
    const delays: number[] = [];
    client.onEvent('reconnecting', ({ delay }) => delays.push(delay));
    await client.connect();
    await until(() => client.state === 'closed', 5000);
    expect(delays).toEqual([19, 39, 79, 159]);
    expect(opens).toBe(5); // every connection was open, none long enough to reset the backoff
  });

  it('waits the drain window after 1012 only from a connection that stayed open stableConnectionTime', async () => {
    const client = track(
      server.client('drained', {
        random: () => 0.999999,
        stableConnectionTime: 100,
        reconnect: { baseDelay: 20, maxDelay: 1000, maxAttempts: 3 },
        drainReconnect: { minDelay: 10, maxDelay: 30 },
      }),
    );
    let opens = 0;
    // The first connection is drained (1012) once it has been open past stableConnectionTime,
    // the others as soon as they open.
    client.onEvent('open', () => {
      if (opens++ > 0) server.closeUser('drained', 1012, 'service restart');
    });
    const delays: number[] = [];
    client.onEvent('reconnecting', ({ delay, code }) => delays.push(code === 1012 ? delay : -1));
    await client.connect();
    const openSince = Date.now();
    // The condition is a duration here: the connection has been open past stableConnectionTime.
    await until(() => Date.now() - openSince >= 150);
    server.closeUser('drained', 1012, 'service restart');
    await until(() => client.state === 'closed', 5000);
    expect(delays).toEqual([30, 19, 39, 79]);
  });
});

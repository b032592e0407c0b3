import { afterEach, describe, expect, it } from '@jest/globals';
import { WebSocket, type WebSocket as ServerSocket } from 'ws';
import {
  ConnectionLostError,
  type Envelope,
  RealtimeClient,
  type RealtimeClientOptions,
  RealtimeRequestError,
  type ResumeFailedData,
  TokenProviderError,
} from '../../lib/client/index.js';
import { RoomPositions } from '../../lib/client/room-positions.js';
import { RoomRestorer } from '../../lib/client/room-restorer.js';
import { until } from '../support/until.js';
import { FakeServer } from './fake-server.js';
import { nextEvent } from './sample-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const send = (socket: ServerSocket, frame: unknown) => socket.send(JSON.stringify(frame));
const USER = { user_id: 'u', username: 'u', roles: [] };

/** What a review of the client found, each scripted with a fake server. */
describe('RealtimeClient: review regressions', () => {
  let fake: FakeServer | undefined;
  let client: RealtimeClient | undefined;
  afterEach(async () => {
    await client?.disconnect();
    await fake?.close();
    client = fake = undefined;
  });

  const start = (options: Partial<RealtimeClientOptions> = {}) =>
    (client = new RealtimeClient({
      url: fake!.url,
      WebSocket,
      heartbeat: false,
      reconnect: { baseDelay: 20, maxDelay: 20 },
      ...options,
    }));

  /** Cuts every connection without a close frame, as a dead network would. */
  const dropAll = () => fake!.sockets.forEach((socket) => socket.terminate());

  it('does not move a room forward on a room_joined that overtakes the replay of its resume', async () => {
    fake = await FakeServer.start((socket, n) => {
      FakeServer.connected(socket, `s${n}`);
      socket.on('message', (raw) => {
        const m = JSON.parse(String(raw));
        if (n === 0 && m.type === 'join_room') {
          send(socket, { type: 'room_joined', id: m.id, data: { room_id: 'g', client_count: 1, seq: 3, epoch: 'E' } });
        }
        if (n === 1 && m.type === 'resume') send(socket, { type: 'resumed', id: m.id, data: { rooms: ['g'] } });
        if (n === 1 && m.type === 'join_room') {
          // Already a member: the room's latest position, while the replay is still on its way.
          send(socket, { type: 'room_joined', id: m.id, data: { room_id: 'g', client_count: 2, seq: 6, epoch: 'E' } });
          for (const seq of [4, 5, 6, 7]) {
            send(socket, { type: 'chat_message', room: 'g', seq, epoch: 'E', data: { content: `m${seq}` } });
          }
        }
      });
    });
    start();
    const seqs: (number | undefined)[] = [];
    client!.on('chat_message', (_data, envelope) => seqs.push(envelope.seq));
    await client!.connect();
    await client!.join('g');
    const reconnecting = nextEvent(client!, 'reconnecting');
    dropAll();
    await reconnecting;
    await client!.join('g'); // queued while reconnecting, sent after `resumed`
    await until(() => seqs.length >= 4, 2000).catch(() => undefined);
    expect(seqs).toEqual([4, 5, 6, 7]);
  });

  it('keeps a known position when a room_joined comes without one, and resumes from it', async () => {
    const resumes: unknown[] = [];
    let joins = 0;
    fake = await FakeServer.start((socket, n) => {
      FakeServer.connected(socket, `s${n}`);
      socket.on('message', (raw) => {
        const m = JSON.parse(String(raw));
        if (m.type === 'join_room') {
          const position = ++joins === 1 ? { seq: 3, epoch: 'E' } : {};
          send(socket, { type: 'room_joined', id: m.id, data: { room_id: 'g', client_count: 1, ...position } });
        }
        if (m.type === 'resume') {
          resumes.push(m.data);
          send(socket, { type: 'resumed', id: m.id, data: { rooms: Object.keys(m.data.rooms) } });
        }
      });
    });
    start();
    await client!.connect();
    await client!.join('g'); // seq 3 in E
    await client!.join('g'); // again: a room_joined without a position
    const reopened = nextEvent(client!, 'open');
    dropAll();
    await reopened;
    expect(resumes).toEqual([{ session_id: 's0', rooms: { g: { seq: 3, epoch: 'E' } } }]);
  });

  it('RoomPositions.joined: same epoch never moves forward nor forgets; another epoch starts over', () => {
    const rooms = new RoomPositions();
    rooms.joined('r', undefined, undefined);
    expect(rooms.position('r')).toBeUndefined();
    rooms.joined('r', 2, 'E'); // unknown → known
    expect(rooms.position('r')).toEqual({ seq: 2, epoch: 'E' });
    rooms.joined('r', 9, 'E');
    expect(rooms.position('r')).toEqual({ seq: 2, epoch: 'E' });
    rooms.joined('r', undefined, undefined);
    expect(rooms.position('r')).toEqual({ seq: 2, epoch: 'E' });
    rooms.joined('r', 1, 'F');
    expect(rooms.position('r')).toEqual({ seq: 1, epoch: 'F' });
  });

  it('leaves no rejoin rejecting unhandled when the resume fails', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const rooms = new RoomPositions();
      rooms.joined('a', undefined, undefined); // no position: rejoined
      rooms.joined('b', 5, 'E'); // resumed
      const failures: ResumeFailedData[] = [];
      let failJoin: (error: Error) => void = () => undefined;
      const restorer = new RoomRestorer(
        rooms,
        (type) =>
          type === 'resume'
            ? Promise.reject(new ConnectionLostError('resume'))
            : new Promise<Envelope>((_, reject) => (failJoin = reject)),
        (event) => failures.push(event),
        () => undefined,
      );
      const restored = restorer.restore('s0');
      // The connection is gone: the rejoin fails too, after the resume did.
      await sleep(5);
      failJoin(new ConnectionLostError('join_room'));
      await expect(restored).rejects.toBeInstanceOf(ConnectionLostError);
      await sleep(20);
      expect(unhandled).toEqual([]);
      expect(failures).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('retries with the backoff when the token provider fails, throws, returns nothing or hangs', async () => {
    let calls = 0;
    fake = await FakeServer.start((socket, n) => {
      FakeServer.connected(socket, `s${n}`);
      socket.on('message', (raw) => {
        const m = JSON.parse(String(raw));
        if (m.type === 'auth') send(socket, { type: 'auth_success', id: m.id, data: USER });
      });
    });
    const provider = (): string | Promise<string> => {
      calls++;
      if (calls === 2) throw new Error('fetch failed');
      if (calls === 3) return Promise.reject(new Error('offline'));
      if (calls === 4) return undefined as unknown as string;
      if (calls === 5) return new Promise<string>(() => undefined); // never answers
      return 'tok';
    };
    start({ token: provider, tokenTimeout: 50 });
    const errors: Error[] = [];
    client!.onEvent('error', ({ error }) => errors.push(error));
    await client!.connect();
    const reopened = nextEvent(client!, 'open', 3000);
    dropAll();
    await reopened;
    expect(calls).toBe(6);
    expect(client!.state).toBe('open');
    expect(errors.map((error) => error.name)).toEqual(Array(4).fill('TokenProviderError'));
    expect(errors[3]).toBeInstanceOf(TokenProviderError);
    expect(errors[3].message).toMatch(/within 50 ms/);
  });

  it('does not put the client back in a room it left while the resume ran', async () => {
    fake = await FakeServer.start((socket, n) => {
      FakeServer.connected(socket, `s${n}`);
      socket.on('message', (raw) => {
        const m = JSON.parse(String(raw));
        if (n === 0 && m.type === 'join_room') {
          send(socket, { type: 'room_joined', id: m.id, data: { room_id: 'g', client_count: 1, seq: 3, epoch: 'E' } });
        }
        if (n === 1 && m.type === 'resume') send(socket, { type: 'resumed', id: m.id, data: { rooms: ['g'] } });
        if (n === 1 && m.type === 'leave_room') {
          send(socket, { type: 'room_left', id: m.id, data: { room_id: 'g' } });
          // What crossed the leave: the end of the replay, and the room's resume_failed.
          send(socket, { type: 'chat_message', room: 'g', seq: 4, epoch: 'E', data: { content: 'late' } });
          send(socket, {
            type: 'resume_failed',
            data: { room_id: 'g', reason: 'history_expired', seq: 9, epoch: 'E' },
          });
          send(socket, { type: 'done' });
        }
      });
    });
    start();
    const failures: ResumeFailedData[] = [];
    client!.onEvent('resume_failed', (event) => failures.push(event));
    await client!.connect();
    await client!.join('g');
    const reconnecting = nextEvent(client!, 'reconnecting');
    dropAll();
    await reconnecting;
    const done = new Promise((resolve) => client!.on('done', resolve));
    await client!.leave('g'); // queued, sent after `resumed`
    await done;
    expect(client!.joinedRooms).toEqual([]);
    expect(failures).toEqual([]);
  });

  it('backs off further from a server that drops each connection right after it is open', async () => {
    fake = await FakeServer.start((socket, n) => {
      FakeServer.connected(socket, `s${n}`);
      socket.on('message', (raw) => {
        const m = JSON.parse(String(raw));
        if (m.type === 'auth') {
          send(socket, { type: 'auth_success', id: m.id, data: USER });
          setTimeout(() => socket.terminate(), 20);
        }
      });
    });
    start({ token: 'tok', random: () => 0.999999, reconnect: { baseDelay: 20, maxDelay: 1000, maxAttempts: 4 } });
    let opens = 0;
    client!.onEvent('open', () => opens++);
    const delays: number[] = [];
    client!.onEvent('reconnecting', ({ delay }) => delays.push(delay));
    await client!.connect();
    await until(() => delays.length >= 4 || client!.state === 'closed', 5000);
    expect(delays.slice(0, 4)).toEqual([19, 39, 79, 159]);
    await until(() => client!.state === 'closed', 5000);
    expect(opens).toBe(5); // every connection was open, none long enough to reset the backoff
  });

  it('waits the drain window after 1012 only from a connection that stayed open stableConnectionTime', async () => {
    fake = await FakeServer.start((socket, n) => {
      FakeServer.connected(socket, `s${n}`);
      socket.on('message', (raw) => {
        const m = JSON.parse(String(raw));
        if (m.type === 'auth') {
          send(socket, { type: 'auth_success', id: m.id, data: USER });
          // The first connection lives past stableConnectionTime, the others are drained at once.
          setTimeout(() => socket.close(1012, 'service restart'), n === 0 ? 150 : 20);
        }
      });
    });
    start({
      token: 'tok',
      random: () => 0.999999,
      stableConnectionTime: 100,
      reconnect: { baseDelay: 20, maxDelay: 1000, maxAttempts: 3 },
      drainReconnect: { minDelay: 10, maxDelay: 30 },
    });
    const delays: number[] = [];
    client!.onEvent('reconnecting', ({ delay, code }) => delays.push(code === 1012 ? delay : -1));
    await client!.connect();
    await until(() => client!.state === 'closed', 5000);
    expect(delays).toEqual([30, 19, 39, 79]);
  });

  it('emits no resume_failed for a room whose rejoin is refused: it is dropped and reported', async () => {
    fake = await FakeServer.start((socket, n) => {
      FakeServer.connected(socket, `s${n}`);
      socket.on('message', (raw) => {
        const m = JSON.parse(String(raw));
        if (m.type !== 'join_room') return;
        if (n === 0)
          send(socket, { type: 'room_joined', id: m.id, data: { room_id: m.data.room_id, client_count: 1 } });
        else send(socket, { type: 'error', id: m.id, data: { code: 'FORBIDDEN', message: 'not any more' } });
      });
    });
    start();
    const failures: ResumeFailedData[] = [];
    client!.onEvent('resume_failed', (event) => failures.push(event));
    const errors: Error[] = [];
    client!.onEvent('error', ({ error }) => errors.push(error));
    await client!.connect();
    await client!.join('g'); // no position: rejoined after a reconnect
    const reopened = nextEvent(client!, 'open');
    dropAll();
    await reopened;
    expect(client!.joinedRooms).toEqual([]);
    expect(failures).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RealtimeRequestError);
  });
});

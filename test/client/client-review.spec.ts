import { afterEach, describe, expect, it } from '@jest/globals';
import { WebSocket, type WebSocket as ServerSocket } from 'ws';
import {
  ConnectionLostError,
  type Envelope,
  RealtimeClient,
  type RealtimeClientOptions,
  RealtimeRequestError,
  type ResumeFailedData,
} from '../../lib/client/index.js';
import { RoomPositions } from '../../lib/client/room-positions.js';
import { RoomRestorer } from '../../lib/client/room-restorer.js';
import { FakeServer } from './fake-server.js';
import { nextEvent } from './sample-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const send = (socket: ServerSocket, frame: unknown) => socket.send(JSON.stringify(frame));

/**
 * What a review of the client found, where the real server cannot be driven into the case (each
 * test says why); the others run against the sample server in client-review.e2e.spec.ts.
 */
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

  // Scripted: the real server always sends `seq`/`epoch` in room_joined (PROTOCOL.md), so it
  // cannot be driven into a room_joined without a position; the client must still keep the one
  // it knows (RoomPositions.joined, below, is the rule).
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

  // No server: the rule itself. It also covers a room_joined that would overtake the replay of
  // its resume (an ordering the real server never produces; the real-server test of a join
  // queued behind a resume is in client-review.e2e.spec.ts).
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

  // No server: RoomRestorer with a sender that fails on cue. The order (resume rejected first,
  // then the rejoin) is what a connection lost mid-restore gives, which a real server cannot be
  // made to produce at a chosen moment.
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

  // Scripted: the sample app has no join policy, so the real sample server cannot refuse a rejoin.
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

import type { Frame } from './test-client.js';
import { TestClient } from './test-client.js';
import type { CleanupRegistry } from './cleanup.js';

export interface Position {
  seq: number;
  epoch: string;
}

/**
 * What a resuming client does, kept minimal for the server's tests: remembers its session id and
 * its position in each room, and after a reconnect sends `resume` with them. It keeps every room
 * frame it receives across its connections, unfiltered, so that a test sees any gap or duplicate
 * the server lets through.
 */
export class ResumingClient {
  client!: TestClient;
  sessionId = '';
  readonly positions = new Map<string, Position>();
  /** Room frames by room, in arrival order, across reconnects. */
  readonly received = new Map<string, Frame[]>();
  readonly failures: Frame[] = [];
  private requests = 0;

  constructor(private token: string) {}

  /** Connects (authenticated at the handshake) and waits for `auth_success`. */
  async connect(url: string): Promise<void> {
    const client = new TestClient(`${url}?token=${this.token}`);
    client.socket.on('message', (data) => this.observe(JSON.parse(data.toString()) as Frame));
    await client.opened;
    this.client = client;
    this.sessionId = (await client.next('connected')).data.session_id as string;
    await client.next('auth_success');
  }

  async join(roomId: string): Promise<Frame> {
    const joined = await this.client.request({ type: 'join_room', id: this.nextId(), data: { room_id: roomId } });
    if (joined.type !== 'room_joined') throw new Error(`join refused: ${JSON.stringify(joined)}`);
    this.positions.set(roomId, { seq: joined.data.seq as number, epoch: joined.data.epoch as string });
    return joined;
  }

  /** Reconnects to `url` (any node), optionally with a new token, and resumes; resolves with the answer. */
  async reconnect(url: string, token = this.token): Promise<Frame> {
    const previous = this.sessionId;
    this.token = token;
    await this.connect(url);
    return this.client.request(
      {
        type: 'resume',
        id: this.nextId(),
        data: { session_id: previous, rooms: Object.fromEntries(this.positions) },
      },
      3000,
      // resume_failed and a refused room's room_left carry the id too; the answer comes after them.
      (reply) => reply.type === 'resumed' || reply.type === 'error',
    );
  }

  /** Room frames of `roomId` received so far. */
  roomFrames(roomId: string): Frame[] {
    return this.received.get(roomId) ?? [];
  }

  private observe(frame: Frame): void {
    if (typeof frame.room === 'string' && typeof frame.seq === 'number') {
      const list = this.received.get(frame.room) ?? [];
      list.push(frame);
      this.received.set(frame.room, list);
      this.positions.set(frame.room, { seq: frame.seq, epoch: frame.epoch as string });
    } else if (frame.type === 'resume_failed') {
      this.failures.push(frame);
      this.positions.set(frame.data.room_id as string, {
        seq: frame.data.seq as number,
        epoch: frame.data.epoch as string,
      });
    }
  }

  private nextId(): string {
    return `rc-${++this.requests}`;
  }
}

/** Seq numbers of frames, for comparing with an expected run. */
export const seqsOf = (frames: readonly Frame[]): number[] => frames.map((frame) => frame.seq as number);

/** `from..to` inclusive. */
export const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/**
 * A {@link ResumingClient} of `token`, connected to `url` and registered with `cleanup` as it is
 * made, so that a failed assertion still closes it (whichever connection it is on by then: it
 * reconnects).
 */
export async function trackedResumer(url: string, token: string, cleanup: CleanupRegistry): Promise<ResumingClient> {
  const client = new ResumingClient(token);
  cleanup.defer(() => client.client?.close());
  await client.connect(url);
  return client;
}

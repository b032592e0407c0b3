import { describe, expect, it } from '@jest/globals';
import { ConnectionManager, RoomManager } from '../../lib/index.js';
import type { RealtimeConnection } from '../../lib/connections/realtime-connection.js';
import { RealtimeStats } from '../../lib/stats/realtime-stats.js';
import { useCleanup } from '../support/cleanup.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { type Frame, TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';

/** One socket write (one `_write` or `_writev` of the server's TCP socket): its text frames, and when. */
interface Write {
  frames: Frame[];
  at: number;
}

/** The text frames (unmasked, as a server sends them) in the bytes of one write. */
function textFramesIn(bytes: Buffer): Frame[] {
  const frames: Frame[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const opcode = bytes[offset] & 0x0f;
    let length = bytes[offset + 1] & 0x7f;
    let start = offset + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(offset + 2);
      start += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(offset + 2));
      start += 8;
    }
    if (opcode === 1) frames.push(JSON.parse(bytes.toString('utf8', start, start + length)) as Frame);
    offset = start + length;
  }
  expect(offset).toBe(bytes.length); // whole frames only: a write never splits one
  return frames;
}

type Chunk = Buffer | string;
type Writable = {
  _write(chunk: Chunk, encoding: BufferEncoding, callback: () => void): void;
  _writev(chunks: { chunk: Chunk; encoding: BufferEncoding }[], callback: () => void): void;
};

/** `ws` writes a string payload as a string (with its encoding), a pre-framed frame as a Buffer. */
const bytesOf = (chunk: Chunk, encoding: BufferEncoding): Buffer =>
  typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;

/**
 * Records every write of the server-side TCP socket of `connection` from now on: what Node hands
 * the kernel per syscall (`_write` for one buffered chunk, `_writev` for several).
 */
function recordWrites(connection: RealtimeConnection): Write[] {
  const writes: Write[] = [];
  const stream = connection.transport as unknown as Writable;
  const write = stream._write;
  const writev = stream._writev;
  stream._write = function (chunk, encoding, callback) {
    writes.push({ frames: textFramesIn(bytesOf(chunk, encoding)), at: Date.now() });
    return write.call(this, chunk, encoding, callback);
  };
  stream._writev = function (chunks, callback) {
    writes.push({
      frames: textFramesIn(Buffer.concat(chunks.map((c) => bytesOf(c.chunk, c.encoding)))),
      at: Date.now(),
    });
    return writev.call(this, chunks, callback);
  };
  return writes;
}

/** Sends `frames` in one TCP write, as a pipelining client does: they reach the server in one read. */
function pipeline(client: TestClient, frames: object[]): void {
  const raw = (client.socket as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
  raw.cork();
  for (const frame of frames) client.send(frame);
  raw.uncork();
}

const label = (frame: Frame): string =>
  frame.type === 'chat_message' ? `chat:${frame.data.content}#${String(frame.seq)}` : `${frame.type}:${frame.id ?? ''}`;

describe('write coalescing: the frames of one turn leave in one socket write (e2e)', () => {
  const cleanup = useCleanup();

  async function member(
    t: TestApp,
    roomId: string,
    query = '',
  ): Promise<{ client: TestClient; connection: RealtimeConnection }> {
    const client = cleanup.track(await TestClient.connect(`${t.url}${query}`));
    const id = (await client.next('connected')).data.client_id as string;
    await client.request({ type: 'join_room', id: 'j', data: { room_id: roomId } });
    return { client, connection: t.app.get(ConnectionManager).get(id)! };
  }

  it('ten broadcasts in one turn reach each member in one write, in order', async () => {
    const t = cleanup.track(await createTestApp({ rateLimit: false }));
    const members = [await member(t, 'r'), await member(t, 'r')];
    const writes = members.map(({ connection }) => recordWrites(connection));
    const rooms = t.app.get(RoomManager);
    for (let n = 0; n < 10; n++) void rooms.broadcast('r', 'tick', { n });
    for (const { client } of members) await until(() => client.frames.filter((f) => f.type === 'tick').length === 10);
    for (const recorded of writes) {
      expect(recorded).toHaveLength(1);
      expect(recorded[0].frames.map((f) => (f.data as { n: number }).n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  });

  it('a burst of chats a client pipelines reaches every member in one write', async () => {
    const t = cleanup.track(await createTestApp({ rateLimit: false }));
    const publisher = await member(t, 'burst');
    const readers = [await member(t, 'burst'), await member(t, 'burst'), await member(t, 'burst')];
    const writes = readers.map(({ connection }) => recordWrites(connection));
    const contents = Array.from({ length: 10 }, (_, i) => `m${i}`);
    pipeline(
      publisher.client,
      contents.map((content) => ({ type: 'chat', data: { room_id: 'burst', content } })),
    );
    for (const { client } of readers) {
      await until(() => client.frames.filter((f) => f.type === 'chat_message').length === 10);
    }
    for (const recorded of writes) {
      expect(recorded).toHaveLength(1);
      expect(recorded[0].frames.map((f) => f.data.content)).toEqual(contents);
    }
  });

  it('keeps order across broadcasts, replies and a replay of a pipelined client, in fewer writes', async () => {
    const t = cleanup.track(await createTestApp({ rateLimit: false, auth: { secret: TEST_SECRET } }));
    const token = (user: string) => `?token=${hsToken({ user_id: user }, TEST_SECRET)}`;
    const bob = await member(t, 'mixed', token('bob'));
    // Ann was in the room and dropped; two messages went by meanwhile.
    const ann1 = await member(t, 'mixed', token('ann'));
    const sessionId = ann1.client.frames.find((f) => f.type === 'connected')!.data.session_id as string;
    const joined = ann1.client.frames.find((f) => f.type === 'room_joined')!;
    ann1.client.socket.terminate();
    await until(() => t.app.get(RoomManager).clientCount('mixed') === 1);
    bob.client.send({ type: 'chat', data: { room_id: 'mixed', content: 'missed-1' } });
    bob.client.send({ type: 'chat', data: { room_id: 'mixed', content: 'missed-2' } });
    await until(() => bob.client.frames.filter((f) => f.type === 'chat_message').length === 2);

    const ann = cleanup.track(await TestClient.connect(`${t.url}${token('ann')}`));
    const annId = (await ann.next('connected')).data.client_id as string;
    await ann.next('auth_success');
    const writes = recordWrites(t.app.get(ConnectionManager).get(annId)!);
    pipeline(ann, [
      {
        type: 'resume',
        id: 'r',
        data: { session_id: sessionId, rooms: { mixed: { seq: 0, epoch: joined.data.epoch } } },
      },
      { type: 'echo', id: 'e1', data: 1 },
      { type: 'chat', data: { room_id: 'mixed', content: 'mine-1' } },
      { type: 'echo', id: 'e2', data: 2 },
      { type: 'chat', data: { room_id: 'mixed', content: 'mine-2' } },
      { type: 'echo', id: 'e3', data: 3 },
    ]);
    await until(() => ann.frames.some((f) => f.id === 'e3'));
    const expected = [
      'resumed:r',
      'chat:missed-1#1',
      'chat:missed-2#2',
      'echo_response:e1',
      'chat:mine-1#3',
      'echo_response:e2',
      'chat:mine-2#4',
      'echo_response:e3',
    ];
    const received = ann.frames.filter((f) => !['connected', 'auth_success', 'presence_diff'].includes(f.type));
    expect(received.map(label)).toEqual(expected);
    // What left the socket is exactly that, in that order, in fewer writes than frames: the
    // replay and the messages handled after it share writes.
    const written = writes.flatMap((w) => w.frames).filter((f) => f.type !== 'presence_diff');
    expect(written.map(label)).toEqual(expected);
    expect(writes.length).toBeLessThan(written.length);
    expect(Math.max(...writes.map((w) => w.frames.length))).toBeGreaterThanOrEqual(5);
  });

  it('with writeDelay, batches a connection’s writes across turns for that long', async () => {
    const t = cleanup.track(await createTestApp({ rateLimit: false, writeDelay: 60 }));
    const { client, connection } = await member(t, 'delayed');
    const writes = recordWrites(connection);
    const rooms = t.app.get(RoomManager);
    const started = Date.now();
    void rooms.broadcast('delayed', 'tick', { n: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    void rooms.broadcast('delayed', 'tick', { n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    void rooms.broadcast('delayed', 'tick', { n: 2 });
    await until(() => client.frames.filter((f) => f.type === 'tick').length === 3);
    expect(writes).toHaveLength(1);
    expect(writes[0].frames.map((f) => (f.data as { n: number }).n)).toEqual([0, 1, 2]);
    expect(writes[0].at - started).toBeGreaterThanOrEqual(55);
  });

  it('still detects a slow consumer (held bytes count), and keeps the healthy reader of the same bursts', async () => {
    // Bursts of 320 KiB in a turn, above writeBufferSize: held whole, they would make the healthy
    // reader (which reads between turns) look like a slow consumer too. The batch writes out
    // every 64 KiB (MAX_HELD_BYTES), so only what the kernel does not take counts, as before.
    const t = cleanup.track(await createTestApp({ rateLimit: false, writeBufferSize: 256 * 1024 }));
    const healthy = await member(t, 'big');
    const slow = await member(t, 'big');
    slow.client.socket.pause(); // stops reading: the kernel's buffers fill, then the node's
    const rooms = t.app.get(RoomManager);
    const blob = 'x'.repeat(16 * 1024);
    let sent = 0;
    const deadline = Date.now() + 10_000;
    while (slow.connection.isOpen && Date.now() < deadline) {
      for (let i = 0; i < 20; i++, sent++) void rooms.broadcast('big', 'blob', { n: sent, blob });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(slow.connection.isOpen).toBe(false);
    expect(t.app.get(RealtimeStats).slowConsumerCloses).toBe(1);
    await until(() => healthy.client.frames.filter((f) => f.type === 'blob').length === sent, 10_000);
    expect(healthy.connection.isOpen).toBe(true);
    slow.client.socket.resume();
    expect((await slow.client.closed).code).toBe(1013);
  });
});

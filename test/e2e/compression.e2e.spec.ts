import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { constants, deflateRawSync } from 'node:zlib';
import type { ClientOptions } from 'ws';
import type { RealtimeModuleOptions } from '../../lib/index.js';
import { FrameCompression } from '../../lib/connections/frame-compression.js';
import { useCleanup } from '../support/cleanup.js';
import { FrameTap } from '../support/frame-tap.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { type Frame, TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';

const ROOM = 'lobby';
const PLAIN: ClientOptions = { perMessageDeflate: false };
/** About 2 KB of chat-like text: compressible, as real chat is. */
const LONG_TEXT = Array.from({ length: 40 }, (_, i) => `message ${i}: see you at the standup, bring the notes`).join(
  ' ',
);

/** The TCP socket under a client, whose `bytesRead` counts what crossed the wire. */
const tcpOf = (client: TestClient): Socket => (client.socket as unknown as { _socket: Socket })._socket;

describe('permessage-deflate, compress-once broadcasts (e2e)', () => {
  const cleanup = useCleanup();
  afterEach(() => {
    jest.restoreAllMocks();
  });

  async function start(options: RealtimeModuleOptions): Promise<TestApp> {
    // Without presence, the frames a member gets are the ones the test sends.
    return cleanup.track(
      await createTestApp({ auth: { secret: TEST_SECRET }, rateLimit: false, rooms: { presence: false }, ...options }),
    );
  }

  /** The `Sec-WebSocket-Extensions` each client's handshake response carried. */
  const accepted = new Map<TestClient, string>();

  async function member(t: TestApp, user: string, options: ClientOptions = {}): Promise<TestClient> {
    const client = cleanup.track(
      new TestClient(`${t.url}?token=${hsToken({ user_id: user, username: user })}`, options),
    );
    client.socket.once('upgrade', (response) =>
      accepted.set(client, String(response.headers['sec-websocket-extensions'] ?? '')),
    );
    await client.opened;
    await client.next('auth_success');
    await client.request({ type: 'join_room', id: `join-${user}`, data: { room_id: ROOM } });
    return client;
  }

  const chatFrom = (client: TestClient, content: string): Promise<Frame> =>
    client.next('chat_message').then((frame) => {
      expect(frame.data.content).toBe(content);
      return frame;
    });

  it('is off by default: a client offering permessage-deflate negotiates nothing', async () => {
    const t = await start({});
    const client = await member(t, 'u1');
    expect(accepted.get(client)).toBe('');
  });

  it('negotiates no context takeover; a room broadcast is deflated once and compressing and plain members get the same JSON, the compressed ones in fewer bytes', async () => {
    const t = await start({ compression: true });
    const deflating = [await member(t, 'd1'), await member(t, 'd2'), await member(t, 'd3')];
    const plain = await member(t, 'p1', PLAIN);
    const sender = await member(t, 'sender', PLAIN);
    for (const client of deflating) {
      expect(accepted.get(client)).toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    }
    expect(accepted.get(plain)).toBe('');
    const taps = [...deflating, plain].map((client) => new FrameTap(client.socket));
    const before = [...deflating, plain].map((client) => tcpOf(client).bytesRead);
    const deflate = jest.spyOn(FrameCompression.prototype, 'frame');

    sender.send({ type: 'chat', data: { room_id: ROOM, content: LONG_TEXT } });
    const received = await Promise.all([...deflating, plain].map((client) => chatFrom(client, LONG_TEXT)));
    await chatFrom(sender, LONG_TEXT);

    // One deflate for the three compressing members: the same compressed frame went to each.
    expect(deflate).toHaveBeenCalledTimes(1);
    for (const frame of received) expect(frame).toEqual(received[0]);
    expect(taps.map((tap) => tap.texts.map((frame) => frame.compressed))).toEqual([[true], [true], [true], [false]]);
    const read = [...deflating, plain].map((client, i) => tcpOf(client).bytesRead - before[i]);
    expect(read[0]).toBe(read[1]);
    expect(read[0]).toBe(read[2]);
    // 2 KB of chat-like text deflates to a fraction of itself.
    expect(read[3]).toBeGreaterThan(LONG_TEXT.length);
    expect(read[0] * 3).toBeLessThan(read[3]);
  });

  it('sends messages below the threshold uncompressed', async () => {
    const t = await start({ compression: { enabled: true, threshold: 4096 } });
    const reader = await member(t, 'reader');
    const sender = await member(t, 'sender', PLAIN);
    const tap = new FrameTap(reader.socket);
    const large = `${LONG_TEXT} ${LONG_TEXT}`;
    expect(JSON.stringify({ content: LONG_TEXT }).length).toBeLessThan(4096);
    expect(large.length).toBeGreaterThan(4096);

    sender.send({ type: 'chat', data: { room_id: ROOM, content: LONG_TEXT } });
    await chatFrom(reader, LONG_TEXT);
    sender.send({ type: 'chat', data: { room_id: ROOM, content: large } });
    await chatFrom(reader, large);
    expect(tap.texts.map((frame) => frame.compressed)).toEqual([false, true]);
  });

  // Every write, compressed or not, goes through the connection's write batch (WriteBatch): with
  // writeDelay the frames of several turns leave together, still in order.
  it.each([0, 2])(
    'keeps the order of small and large frames, broadcasts and replies, on a compressing connection (writeDelay %i)',
    async (writeDelay) => {
      const t = await start({ compression: true, writeDelay });
      const client = await member(t, 'writer');
      const tap = new FrameTap(client.socket);
      const expected: string[] = [];
      for (let i = 0; i < 24; i++) {
        const large = i % 2 === 0;
        const text = large ? `${i} ${LONG_TEXT}` : `${i}`;
        if (Math.floor(i / 2) % 2 === 0) {
          client.send({ type: 'echo', id: `e${i}`, data: { text } });
          expected.push(`echo_response ${text.slice(0, 3)}`);
        } else {
          client.send({ type: 'chat', data: { room_id: ROOM, content: text } });
          expected.push(`chat_message ${text.slice(0, 3)}`);
        }
      }
      const start_ = client.frames.length;
      await until(() => client.frames.length >= start_ + expected.length);
      const got = client.frames
        .slice(start_)
        .map(
          (frame) =>
            `${frame.type} ${String(frame.type === 'chat_message' ? frame.data.content : frame.data.text).slice(0, 3)}`,
        );
      expect(got).toEqual(expected);
      // Both kinds were on the wire, interleaved: large ones compressed, small ones not.
      expect(tap.texts.map((frame) => frame.compressed)).toEqual(expected.map((_, i) => i % 2 === 0));
    },
  );

  it('sends uncompressed frames to a peer that negotiated a smaller server window than the shared frame uses', async () => {
    const t = await start({ compression: true });
    const narrow = await member(t, 'narrow', { perMessageDeflate: { serverMaxWindowBits: 10 } });
    const sender = await member(t, 'sender', PLAIN);
    expect(accepted.get(narrow)).toContain('server_max_window_bits=10');
    const tap = new FrameTap(narrow.socket);
    sender.send({ type: 'chat', data: { room_id: ROOM, content: LONG_TEXT } });
    await chatFrom(narrow, LONG_TEXT);
    expect(tap.texts.map((frame) => frame.compressed)).toEqual([false]);
  });

  it('inflates compressed client messages up to maxMessageSize and closes a compression bomb with 1009', async () => {
    const limit = 64 * 1024;
    const t = await start({ compression: true, maxMessageSize: limit });
    const client = await member(t, 'bomber');
    // ws compresses this client's large messages: the server inflates and answers them.
    const text = LONG_TEXT.repeat(8);
    expect((await client.request({ type: 'echo', id: 'big', data: { text } })).data).toEqual({ text });

    // A crafted frame: 1 MiB of spaces deflated to about 1 KiB, RSV1 set, masked as a client must.
    const bomb = deflateRawSync(Buffer.alloc(1024 * 1024, ' '), { finishFlush: constants.Z_SYNC_FLUSH });
    const payload = bomb.subarray(0, bomb.length - 4);
    expect(payload.length).toBeLessThan(limit);
    const mask = randomBytes(4);
    const header = Buffer.from([0xc1, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]));
    tcpOf(client).write(Buffer.concat([header, mask, masked]));
    expect((await client.closed).code).toBe(1009);
  });
});

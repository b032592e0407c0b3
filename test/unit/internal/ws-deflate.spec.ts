import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { type ClientOptions, WebSocket, WebSocketServer } from 'ws';
import {
  canFrameCompressed,
  frameCompressedText,
  negotiatedDeflate,
  WS_NEVER_COMPRESSES,
} from '../../../lib/internal/ws-deflate.js';
import { writeWholeFrame } from '../../../lib/internal/ws-internals.js';
import { deflateMessage } from '../../../lib/utils/raw-deflate.js';
import { FrameTap } from '../../support/frame-tap.js';

/**
 * Pins what compress-once broadcasts use of `ws` (lib/internal/ws-deflate.ts) for the installed
 * `ws`, over real sockets: the negotiated parameters where the server reads them, `ws` never
 * compressing with an infinite threshold, and RSV1 frames framed by `Sender.frame()` that a `ws`
 * peer inflates.
 */
describe('ws permessage-deflate internals (lib/internal/ws-deflate.ts)', () => {
  let server: WebSocketServer;
  let url: string;
  const open: WebSocket[] = [];

  beforeAll(async () => {
    server = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      perMessageDeflate: {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        threshold: WS_NEVER_COMPRESSES,
      },
    });
    await new Promise((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const socket of open) socket.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A connected pair: the server's socket and a client whose text messages are recorded. */
  async function pair(
    options: ClientOptions,
  ): Promise<{ serverSocket: WebSocket; client: WebSocket; received: string[] }> {
    const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    const client = new WebSocket(url, options);
    const received: string[] = [];
    client.on('message', (data) => received.push(String(data)));
    await new Promise((resolve) => client.once('open', resolve));
    const serverSocket = await accepted;
    open.push(client, serverSocket);
    return { serverSocket, client, received };
  }

  const until = async (predicate: () => boolean): Promise<void> => {
    while (!predicate()) await new Promise((resolve) => setTimeout(resolve, 2));
  };

  it('reads the accepted parameters: no context takeover, the full window unless the peer asked for less', async () => {
    expect(negotiatedDeflate((await pair({ perMessageDeflate: true })).serverSocket)).toEqual({
      serverNoContextTakeover: true,
      serverMaxWindowBits: 15,
    });
    expect(negotiatedDeflate((await pair({ perMessageDeflate: { serverMaxWindowBits: 10 } })).serverSocket)).toEqual({
      serverNoContextTakeover: true,
      serverMaxWindowBits: 10,
    });
    expect(negotiatedDeflate((await pair({ perMessageDeflate: false })).serverSocket)).toBeUndefined();
  });

  it('ws never compresses with an infinite threshold: its sender stays idle and frames go out plain', async () => {
    const { serverSocket, client, received } = await pair({ perMessageDeflate: true });
    const tap = new FrameTap(client);
    serverSocket.send('y'.repeat(100_000));
    expect((serverSocket as unknown as { _sender: { _state: number } })._sender._state).toBe(0);
    await until(() => received.length === 1);
    expect(tap.texts).toEqual([{ compressed: false, opcode: 1, length: 100_000 }]);
  });

  it('frames deflated bytes as an RSV1 text frame that a ws peer inflates, between plain frames and in order', async () => {
    expect(canFrameCompressed()).toBe(true);
    const { serverSocket, client, received } = await pair({ perMessageDeflate: true });
    const tap = new FrameTap(client);
    const first = JSON.stringify({ type: 'a', data: 'first '.repeat(500) });
    const second = JSON.stringify({ type: 'b', data: 'second '.repeat(500) });
    const shared = frameCompressedText(deflateMessage(Buffer.from(first), 6));
    expect(shared[0]).toBe(0xc1);
    expect(writeWholeFrame(serverSocket, shared)).toBe(true);
    serverSocket.send('plain');
    // The same shared buffer again, then another message: each inflates on its own.
    expect(writeWholeFrame(serverSocket, shared)).toBe(true);
    expect(writeWholeFrame(serverSocket, frameCompressedText(deflateMessage(Buffer.from(second), 6)))).toBe(true);
    await until(() => received.length === 4);
    expect(received).toEqual([first, 'plain', first, second]);
    expect(tap.texts.map((frame) => frame.compressed)).toEqual([true, false, true, true]);
  });
});

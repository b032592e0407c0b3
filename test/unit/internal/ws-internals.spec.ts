import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { prepareFrame } from '../../../lib/broadcast/outbound-frame.js';
import { writeFrame } from '../../../lib/connections/frame-write.js';
import {
  checkWsInternals,
  frameText,
  preframingEnabled,
  underlyingSocket,
  writeWholeFrame,
} from '../../../lib/internal/ws-internals.js';

/**
 * Pins the `ws` internals that pre-framing uses (lib/internal/ws-internals.ts) for the installed
 * `ws`, over real sockets. A failure after a `ws` upgrade means pre-framing needs a look before
 * widening the range in package.json.
 */
interface SenderState {
  _state: number;
}
const senderOf = (socket: WebSocket): SenderState => (socket as unknown as { _sender: SenderState })._sender;

describe('ws internals (lib/internal/ws-internals.ts)', () => {
  let server: WebSocketServer;
  let client: WebSocket;
  let serverSocket: WebSocket;
  const received: string[] = [];

  beforeAll(async () => {
    // Compression on, so that the sender has a busy state to show.
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: { threshold: 0 } });
    await new Promise((resolve) => server.once('listening', resolve));
    const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: true });
    client.on('message', (data) => received.push(String(data)));
    serverSocket = await accepted;
    await new Promise((resolve) =>
      client.readyState === WebSocket.OPEN ? resolve(undefined) : client.once('open', resolve),
    );
  });

  afterAll(async () => {
    client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  async function nextMessages(count: number): Promise<string[]> {
    while (received.length < count) await new Promise((resolve) => setImmediate(resolve));
    return received.splice(0, count);
  }

  it('package.json pins ws to a tilde range of the installed (tested) version', () => {
    const installed = (createRequire(import.meta.url)('ws/package.json') as { version: string }).version;
    const range = (
      JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
        dependencies: Record<string, string>;
      }
    ).dependencies.ws;
    const [major, minor] = installed.split('.');
    expect(range).toMatch(new RegExp(`^~${major}\\.${minor}\\.\\d+$`));
  });

  it('passes the start-up self-check, so pre-framing is on', () => {
    expect(checkWsInternals()).toBeUndefined();
    expect(preframingEnabled()).toBe(true);
    expect(prepareFrame(Buffer.from('{}')).wire).toBeInstanceOf(Buffer);
  });

  it('frameText() gives an unmasked text frame header for each length encoding', () => {
    for (const [size, headerLength] of [
      [10, 2],
      [300, 4],
      [70_000, 10],
    ]) {
      const payload = Buffer.alloc(size, 'a');
      const parts = frameText(payload);
      const wire = Buffer.concat(parts);
      expect(wire.length).toBe(size + headerLength);
      expect(wire[0]).toBe(0x81);
      expect(wire[1] & 0x80).toBe(0); // not masked
      expect(wire.subarray(headerLength).equals(payload)).toBe(true);
    }
  });

  it("an open socket's _sender is idle (state 0) and writeWholeFrame() delivers the frame as is", async () => {
    expect(senderOf(serverSocket)._state).toBe(0);
    const frame = prepareFrame(Buffer.from('{"type":"pre-framed"}'));
    expect(writeWholeFrame(serverSocket, frame.wire!)).toBe(true);
    expect(await nextMessages(1)).toEqual(['{"type":"pre-framed"}']);
  });

  it('the sender is not idle while it compresses, and writeWholeFrame() then leaves the frame to send()', async () => {
    serverSocket.send('x'.repeat(10_000), { compress: true });
    // Compression is asynchronous: until it completes, frames must queue behind it in ws.
    expect(senderOf(serverSocket)._state).not.toBe(0);
    const frame = prepareFrame(Buffer.from('{"type":"after"}'));
    expect(writeWholeFrame(serverSocket, frame.wire!)).toBe(false);
    writeFrame({ socket: serverSocket, compression: undefined }, frame);
    expect(await nextMessages(2)).toEqual(['x'.repeat(10_000), '{"type":"after"}']);
    expect(senderOf(serverSocket)._state).toBe(0);
    expect(preframingEnabled()).toBe(true);
  });

  it("an open socket's _socket is its TCP socket, whose 'drain' paces replays", () => {
    const raw = underlyingSocket(serverSocket);
    expect(raw).toBeInstanceOf(Socket);
    expect(raw!.writableLength).toBe(serverSocket.bufferedAmount);
    expect(underlyingSocket({ _socket: null } as unknown as WebSocket)).toBeUndefined();
  });

  it('bufferedAmount counts what a cork holds on the TCP socket (the write batch relies on it)', async () => {
    const raw = underlyingSocket(serverSocket)!;
    const frame = prepareFrame(Buffer.from('{"type":"held"}'));
    raw.cork();
    writeFrame({ socket: serverSocket, compression: undefined }, frame);
    serverSocket.send('{"type":"sent"}', { compress: false });
    expect(serverSocket.bufferedAmount).toBe(frame.wire!.length + 2 + '{"type":"sent"}'.length);
    raw.uncork();
    expect(serverSocket.bufferedAmount).toBe(0);
    expect(await nextMessages(2)).toEqual(['{"type":"held"}', '{"type":"sent"}']);
  });

  // Last: it turns pre-framing off for this module instance.
  it('a socket without the expected sender turns pre-framing off, logged once, and send() takes over', () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const send = jest.fn();
    const odd = { readyState: WebSocket.OPEN, _sender: { busy: false }, send } as unknown as WebSocket;
    const frame = prepareFrame(Buffer.from('{"type":"odd"}'));
    writeFrame({ socket: odd, compression: undefined }, frame);
    writeFrame({ socket: odd, compression: undefined }, frame);
    expect(send).toHaveBeenCalledTimes(2);
    expect(send).toHaveBeenCalledWith(frame.payload, { binary: false });
    expect(preframingEnabled()).toBe(false);
    expect(prepareFrame(Buffer.from('{}')).wire).toBeUndefined();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/ws internals changed/);
    warn.mockRestore();
  });
});

import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SampleServer } from '../client/sample-server.js';
import { TestClient } from '../support/test-client.js';

/**
 * Slowloris against the sample's HTTP server (HTTP_HEADERS_TIMEOUT_MS): Node's defaults keep a
 * trickled upgrade request for a minute and a silent socket forever.
 */
describe('sample HTTP deadlines', () => {
  const HEADERS_TIMEOUT_MS = 1000;
  // Eight times the deadline: generous for a busy machine, far below Node's defaults (60 s for
  // headers, no limit for a silent socket).
  const CLOSED_WITHIN_MS = 8 * HEADERS_TIMEOUT_MS;
  let server: SampleServer;
  let port: number;

  beforeAll(async () => {
    server = await SampleServer.start({ HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS) });
    port = Number(new URL(server.http).port);
  });
  afterAll(() => server.app.close());

  function rawSocket(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(socket));
      socket.on('error', reject);
    });
  }

  /** Resolves with what the server wrote before it closed `socket`, or rejects after `ms`. */
  function closedWithin(socket: Socket, ms: number): Promise<string> {
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`socket still open after ${ms} ms`));
      }, ms);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(received);
      });
    });
  }

  it('answers 408 to an upgrade request whose headers trickle in', async () => {
    const socket = await rawSocket();
    socket.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n');
    // A header line every 200 ms: never idle, never finished.
    const trickle = setInterval(() => socket.write(`X-Pad-${Date.now()}: x\r\n`), 200);
    try {
      expect(await closedWithin(socket, CLOSED_WITHIN_MS)).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(trickle);
    }
  });

  it('closes a socket that never sends a byte', async () => {
    const socket = await rawSocket();
    await expect(closedWithin(socket, CLOSED_WITHIN_MS)).resolves.toBe('');
  });

  it('leaves an upgraded WebSocket alone past the deadline', async () => {
    const client = await TestClient.connect(`${server.url}?token=${server.token('patient')}`);
    await client.next('auth_success');
    // Idle for three deadlines, then still served.
    await new Promise((resolve) => setTimeout(resolve, 3 * HEADERS_TIMEOUT_MS));
    const reply = await client.request({ type: 'echo', id: 'still-here', data: { n: 1 } });
    expect([reply.type, reply.data]).toEqual(['echo_response', { n: 1 }]);
    await client.close();
  });
});

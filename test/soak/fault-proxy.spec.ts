import { afterEach, describe, expect, it } from '@jest/globals';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { until } from '../support/until.js';
import { FaultProxy } from './fault-proxy.js';

/** A TCP server that records what it receives and echoes it back. */
async function echoServer(): Promise<{ server: Server; port: number; received: Buffer[]; sockets: Socket[] }> {
  const received: Buffer[] = [];
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (chunk) => {
      received.push(chunk);
      socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as { port: number }).port, received, sockets };
}

function connect(port: number): Promise<{ socket: Socket; echoed: () => string }> {
  return new Promise((resolve) => {
    let text = '';
    const socket = createConnection({ host: '127.0.0.1', port }, () => resolve({ socket, echoed: () => text }));
    socket.on('data', (chunk) => (text += chunk.toString()));
  });
}

describe('FaultProxy (the soak test between a node and Redis)', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function setup() {
    const target = await echoServer();
    cleanup.push(() => new Promise((resolve) => target.server.close(resolve)));
    const proxy = await FaultProxy.start(target.port);
    cleanup.push(() => proxy.close());
    const client = await connect(proxy.port);
    cleanup.push(() => client.socket.destroy());
    return { target, proxy, client };
  }

  it('forwards both ways, in order', async () => {
    const { proxy, client } = await setup();
    for (let i = 0; i < 50; i++) client.socket.write(`${i},`);
    const expected = Array.from({ length: 50 }, (_, i) => `${i},`).join('');
    await until(() => client.echoed().length >= expected.length);
    expect(client.echoed()).toBe(expected);
    expect(proxy.connections).toBe(1);
  });

  it('adds latency to each direction and keeps the order when the latency changes', async () => {
    const { proxy, client } = await setup();
    proxy.setLatency(150);
    const started = Date.now();
    client.socket.write('slow,');
    await until(() => proxy.heldBytes === 5);
    proxy.setLatency(0); // a later chunk must not overtake the delayed one
    client.socket.write('fast,');
    await until(() => client.echoed().length >= 10);
    expect(client.echoed()).toBe('slow,fast,');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('holds bytes while stalled without closing anything, then forwards them in order', async () => {
    const { target, proxy, client } = await setup();
    await until(() => target.sockets.length === 1);
    proxy.stall();
    client.socket.write('a,');
    client.socket.write('b,');
    await until(() => proxy.heldBytes === 4);
    expect(target.received).toEqual([]);
    expect(client.socket.destroyed).toBe(false);
    expect(target.sockets[0].destroyed).toBe(false);

    proxy.resume();
    await until(() => client.echoed().length >= 4);
    expect(client.echoed()).toBe('a,b,');
    expect(proxy.heldBytes).toBe(0);
  });

  it('closes the client side when the upstream goes away (a Redis restart reaches the node)', async () => {
    const { target, proxy, client } = await setup();
    await until(() => target.sockets.length === 1);
    const closed = new Promise((resolve) => client.socket.once('close', resolve));
    target.sockets[0].destroy();
    await closed;
    await until(() => proxy.connections === 0);
  });

  it('stalls and cuts only connections that sent (S)SUBSCRIBE, and only what comes back to them', async () => {
    const { target, proxy, client: subscriber } = await setup();
    const other = await connect(proxy.port);
    cleanup.push(() => other.socket.destroy());
    // A SUBSCRIBE split across two chunks; a command whose argument reads "subscribe".
    const subscribe = ['*2\r\n$9\r\nsubsc', 'ribe\r\n$1\r\nc\r\n'];
    subscriber.socket.write(subscribe[0]);
    await until(() => subscriber.echoed() === subscribe[0]);
    subscriber.socket.write(subscribe[1]);
    const get = '*2\r\n$3\r\nget\r\n$9\r\nsubscribe\r\n';
    other.socket.write(get);
    await until(() => subscriber.echoed() === subscribe.join('') && other.echoed() === get);

    expect(proxy.stallSubscribers()).toBe(1);
    subscriber.socket.write('held,');
    other.socket.write('free,');
    await until(() => other.echoed() === get + 'free,');
    // The subscriber's command reached Redis; the answer is held.
    await until(() => Buffer.concat(target.received).toString().includes('held,') && proxy.heldBytes === 5);
    expect(subscriber.echoed()).toBe(subscribe.join(''));

    const closed = new Promise((resolve) => subscriber.socket.once('close', resolve));
    expect(proxy.cutSubscribers()).toBe(1);
    await closed;
    expect(proxy.heldBytes).toBe(0);
    expect(proxy.connections).toBe(1);
    other.socket.write('still,');
    await until(() => other.echoed() === get + 'free,still,');
  });

  it('refuses new connections while asked to, leaving open ones alone', async () => {
    const { proxy, client } = await setup();
    proxy.refuseNewConnections(true);
    const refused = await connect(proxy.port);
    await new Promise((resolve) =>
      refused.socket.destroyed ? resolve(undefined) : refused.socket.once('close', resolve),
    );
    client.socket.write('open,');
    await until(() => client.echoed() === 'open,');

    proxy.refuseNewConnections(false);
    const admitted = await connect(proxy.port);
    cleanup.push(() => admitted.socket.destroy());
    admitted.socket.write('in,');
    await until(() => admitted.echoed() === 'in,');
  });
});

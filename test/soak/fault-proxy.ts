import { createConnection, createServer, type Server, type Socket } from 'node:net';

interface Pending {
  chunk: Buffer;
  due: number;
}

/**
 * One direction of a proxied connection: chunks are written to `to` in the order they were
 * read, each no earlier than `latency` after it arrived, and not at all while stalled. A queue
 * with due times rather than one timer per chunk keeps the order when the latency changes.
 */
class Pipe {
  private readonly queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Held on its own, whatever the proxy-wide stall says (one direction of one connection). */
  stalled = false;

  constructor(
    private readonly proxy: FaultProxy,
    private readonly to: Socket,
  ) {}

  push(chunk: Buffer): void {
    this.queue.push({ chunk, due: Date.now() + this.proxy.latencyMs });
    this.pump();
  }

  pump(): void {
    if (this.timer !== undefined || this.proxy.stalled || this.stalled) return;
    const now = Date.now();
    while (this.queue.length > 0 && this.queue[0].due <= now) {
      if (!this.to.destroyed) this.to.write(this.queue.shift()!.chunk);
      else this.queue.shift();
    }
    if (this.queue.length > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, this.queue[0].due - now);
    }
  }

  /** Bytes read but not yet forwarded. */
  get held(): number {
    let bytes = 0;
    for (const pending of this.queue) bytes += pending.chunk.length;
    return bytes;
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

/**
 * The start of a (S)SUBSCRIBE command in RESP (`*2\r\n$9\r\nsubscribe\r\n...`): a command name
 * is the first bulk string of the array, so an argument that happens to read "subscribe" does
 * not match.
 */
const SUBSCRIBE_COMMAND = /\*\d+\r\n\$(?:9\r\nsubscribe|10\r\nssubscribe)\r\n/i;

/**
 * One proxied connection, and what its client has shown itself to be by what it sent. ioredis
 * opens one connection per role to the same address; the subscriber is the one that sent
 * (S)SUBSCRIBE, which is how a fault can hit it and not the command connection.
 */
class ProxiedConnection {
  subscriber = false;
  /** The end of what the client sent, so that a command split across chunks is still seen. */
  private tail = '';

  constructor(
    readonly toClient: Pipe,
    readonly cut: () => void,
  ) {}

  sent(chunk: Buffer): void {
    if (this.subscriber) return;
    const text = this.tail + chunk.toString('latin1');
    this.subscriber = SUBSCRIBE_COMMAND.test(text);
    this.tail = text.slice(-32);
  }
}

/**
 * A TCP proxy between one app node and Redis that injects network faults on command: added
 * latency on every chunk in both directions, and a stall — bytes are held, not forwarded, while
 * both connections stay open, as a black-holed route looks to ioredis (no error, no close, just
 * silence). Closing either side closes the other, so a Redis restart still reaches the node as
 * a dropped connection.
 *
 * Faults can also hit the subscriber connection alone (see {@link stallSubscribers}): a publish
 * that Redis ran, whose echo the node never gets, needs the command connection to work while
 * the subscriber's replies are held and then lost — a plain Redis restart never does that.
 */
export class FaultProxy {
  latencyMs = 0;
  stalled = false;
  /** New connections are closed as soon as they are accepted (those already open go on). */
  refusing = false;
  private readonly pipes = new Set<Pipe>();
  private readonly proxied = new Set<ProxiedConnection>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on a free loopback port and forwards every connection to `targetPort`. */
  static async start(targetPort: number): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new FaultProxy(server, (server.address() as { port: number }).port);
    server.on('connection', (client) => proxy.accept(client, targetPort));
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Connections currently proxied. */
  get connections(): number {
    return this.sockets.size / 2;
  }

  /** Bytes read from either side and not forwarded yet (held by a stall or the latency). */
  get heldBytes(): number {
    let bytes = 0;
    for (const pipe of this.pipes) bytes += pipe.held;
    return bytes;
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  stall(): void {
    this.stalled = true;
  }

  /** Ends a stall: what was held is forwarded, in order. */
  resume(): void {
    this.stalled = false;
    for (const pipe of this.pipes) pipe.pump();
  }

  /**
   * Holds what Redis sends to each subscriber connection open now (its messages and command
   * replies), both sides left open: to ioredis, a subscriber gone silent. Returns how many.
   */
  stallSubscribers(): number {
    const subscribers = [...this.proxied].filter((connection) => connection.subscriber);
    for (const connection of subscribers) connection.toClient.stalled = true;
    return subscribers.length;
  }

  /** Closes both sides of each subscriber connection; what was held for it is dropped. */
  cutSubscribers(): number {
    const subscribers = [...this.proxied].filter((connection) => connection.subscriber);
    for (const connection of subscribers) connection.cut();
    return subscribers.length;
  }

  /**
   * While on, new connections are closed at once: a client whose connection was cut cannot come
   * back, while connections still open are left alone.
   */
  refuseNewConnections(on: boolean): void {
    this.refusing = on;
  }

  /** Stops listening and cuts every proxied connection. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, targetPort: number): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    const toUpstream = new Pipe(this, upstream);
    const toClient = new Pipe(this, client);
    const pair = [client, upstream];
    const teardown = () => {
      this.proxied.delete(connection);
      toUpstream.stop();
      toClient.stop();
      this.pipes.delete(toUpstream);
      this.pipes.delete(toClient);
      for (const socket of pair) {
        socket.destroy();
        this.sockets.delete(socket);
      }
    };
    const connection = new ProxiedConnection(toClient, teardown);
    this.proxied.add(connection);
    for (const socket of pair) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', teardown);
      socket.on('close', teardown);
    }
    this.pipes.add(toUpstream);
    this.pipes.add(toClient);
    client.on('data', (chunk: Buffer) => {
      connection.sent(chunk);
      toUpstream.push(chunk);
    });
    upstream.on('data', (chunk) => toClient.push(chunk));
  }
}

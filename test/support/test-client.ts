import WebSocket, { type ClientOptions } from 'ws';

export interface Frame {
  type: string;
  id?: string | number;
  data?: any;
  timestamp?: string;
  [key: string]: unknown;
}

/**
 * A real `ws` client for e2e tests: records every frame it receives and lets a test wait for the
 * next one (optionally of a given type), for the close, or send raw frames.
 */
export class TestClient {
  readonly frames: Frame[] = [];
  readonly socket: WebSocket;
  private readonly waiters: { type?: string; resolve: (f: Frame) => void; reject: (e: Error) => void }[] = [];
  private cursor = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;

  constructor(url: string, options: ClientOptions = {}) {
    this.socket = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
      this.socket.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`unexpected response ${res.statusCode}`), { statusCode: res.statusCode })),
      );
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      this.socket.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(`socket closed (${code}) while waiting`));
      });
    });
    this.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      this.flush();
    });
    this.socket.on('error', () => undefined);
  }

  static async connect(url: string, options?: ClientOptions): Promise<TestClient> {
    const client = new TestClient(url, options);
    await client.opened;
    return client;
  }

  private flush(): void {
    while (this.waiters.length > 0) {
      const waiter = this.waiters[0];
      const index = this.findFrom(this.cursor, waiter.type);
      if (index === -1) return;
      this.waiters.shift();
      this.cursor = index + 1;
      waiter.resolve(this.frames[index]);
    }
  }

  private findFrom(start: number, type?: string): number {
    for (let i = start; i < this.frames.length; i++) {
      if (type === undefined || this.frames[i].type === type) return i;
    }
    return -1;
  }

  /** The next frame not yet consumed (of `type`, skipping others), within `timeoutMs`. */
  next(type?: string, timeoutMs = 3000): Promise<Frame> {
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(
          new Error(
            `no ${type ?? 'frame'} within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(this.cursor))}`,
          ),
        );
      }, timeoutMs);
      const waiter = {
        type,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(waiter);
      this.flush();
      if (this.socket.readyState === WebSocket.CLOSED && this.waiters.includes(waiter)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.reject(new Error(`socket already closed; no ${type ?? 'frame'} left`));
      }
    });
  }

  send(frame: object): void {
    this.socket.send(JSON.stringify(frame));
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.socket.send(data, { binary });
  }

  /** Sends and waits for the next frame carrying the same `id`. */
  /**
   * Sends `frame` and resolves with the first frame carrying its id that `isAnswer` accepts
   * (any, by default; `resume` sends frames with its id before its answer).
   */
  async request(
    frame: Frame & { id: string },
    timeoutMs = 3000,
    isAnswer: (reply: Frame) => boolean = () => true,
  ): Promise<Frame> {
    this.send(frame);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = await this.next(undefined, Math.max(1, deadline - Date.now()));
      if (reply.id === frame.id && isAnswer(reply)) return reply;
    }
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.socket.readyState <= 1) this.socket.close();
    return this.closed;
  }
}

/** Opens a WebSocket upgrade and resolves with the HTTP status of a refused one. */
export function upgradeStatus(url: string, options: ClientOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('error', (error) => reject(error));
  });
}

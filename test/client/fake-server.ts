import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A bare `ws` server on a free loopback port that plays a scripted server: for what the real
 * one never does (malformed frames, duplicates, silence), to show the client survives it.
 */
export class FakeServer {
  readonly sockets: WebSocket[] = [];
  private readonly server: WebSocketServer;
  private onConnection: (socket: WebSocket, index: number) => void = () => undefined;

  private constructor(server: WebSocketServer) {
    this.server = server;
    server.on('connection', (socket) => {
      this.sockets.push(socket);
      this.onConnection(socket, this.sockets.length - 1);
    });
  }

  static start(onConnection?: (socket: WebSocket, index: number) => void): Promise<FakeServer> {
    return new Promise((resolve) => {
      const server = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => {
        const fake = new FakeServer(server);
        if (onConnection) fake.onConnection = onConnection;
        resolve(fake);
      });
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  /** The `connected` frame the real server sends first. */
  static connected(socket: WebSocket, sessionId = 's1'): void {
    socket.send(
      JSON.stringify({
        type: 'connected',
        data: { client_id: 'c1', session_id: sessionId, node_id: 'n', heartbeat_ms: 0 },
      }),
    );
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

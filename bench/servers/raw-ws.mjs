// The baseline: a bare `ws` server on a plain HTTP server doing the same protocol work per
// message as the module's echo (parse the JSON envelope, stamp a timestamp, serialize the reply)
// and nothing else: no routing, no registry beyond a Set, no heartbeats.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 3100);
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"status":"ok"}');
});
const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false, maxPayload: 1024 * 1024 });
const clients = new Set();

wss.on('connection', (ws) => {
  clients.add(ws);
  ws.send(
    JSON.stringify({ type: 'connected', data: { client_id: randomUUID() }, timestamp: new Date().toISOString() }),
  );
  ws.on('message', (raw) => {
    let message;
    try {
      message = JSON.parse(raw.toString());
    } catch {
      return;
    }
    if (message?.type === 'echo') {
      ws.send(
        JSON.stringify({
          type: 'echo_response',
          id: message.id,
          data: message.data,
          timestamp: new Date().toISOString(),
        }),
      );
    }
  });
  ws.on('close', () => clients.delete(ws));
});

server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  for (const ws of clients) ws.terminate();
  wss.close();
  server.close(() => process.exit(0));
});

// The connect baseline with authentication: a bare `ws` server that verifies the handshake's
// HS256 token with one HMAC (`lib/hs256.mjs`: node:crypto createHmac + timingSafeEqual, alg pinned,
// exp checked) and refuses the upgrade with 401 otherwise, then sends what the module sends on an
// authenticated connect: `connected` and `auth_success`. Nothing else (no rooms, no echo): it is
// the reference for `connect` (server CPU per authenticated connect).
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { handshakeToken, hs256Verifier } from '../lib/hs256.mjs';

const port = Number(process.env.PORT ?? 3100);
const verify = hs256Verifier(process.env.JWT_SECRET ?? 'bench-secret');
const nodeId = randomUUID().slice(0, 8);
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"status":"ok"}');
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1024 * 1024 });
const clients = new Set();

server.on('upgrade', (req, socket, head) => {
  const claims = req.url.startsWith('/ws') ? verify(handshakeToken(req)) : undefined;
  if (!claims) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    clients.add(ws);
    const timestamp = new Date().toISOString();
    ws.send(
      JSON.stringify({
        type: 'connected',
        data: { client_id: randomUUID(), session_id: randomUUID(), node_id: nodeId, heartbeat_ms: 30000 },
        timestamp,
      }),
    );
    ws.send(
      JSON.stringify({
        type: 'auth_success',
        data: { user_id: claims.user_id ?? claims.sub, username: claims.username, roles: claims.roles ?? [] },
        timestamp,
      }),
    );
    ws.on('close', () => clients.delete(ws));
  });
});

server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  for (const ws of clients) ws.terminate();
  wss.close();
  server.close(() => process.exit(0));
});

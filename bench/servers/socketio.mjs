// Socket.IO on one node, authenticating the handshake as its users do: a middleware (`io.use`)
// that verifies the HS256 token of the `Authorization` header with the same one-HMAC check as
// `raw-ws-jwt.mjs`, then `connected` and `auth_success` events. WebSocket transport only.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { handshakeToken, hs256Verifier } from '../lib/hs256.mjs';

const port = Number(process.env.PORT ?? 3100);
const verify = hs256Verifier(process.env.JWT_SECRET ?? 'bench-secret');
const httpServer = createServer((req, res) => res.end('{"status":"ok"}'));
const io = new Server(httpServer, { transports: ['websocket'], perMessageDeflate: false });

io.use((socket, next) => {
  const claims = verify(handshakeToken(socket.request));
  if (!claims) return next(new Error('unauthorized'));
  socket.data.claims = claims;
  next();
});

io.on('connection', (socket) => {
  const { claims } = socket.data;
  socket.emit('connected', { client_id: socket.id });
  socket.emit('auth_success', {
    user_id: claims.user_id ?? claims.sub,
    username: claims.username,
    roles: claims.roles,
  });
});

httpServer.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  io.close();
  process.exit(0);
});

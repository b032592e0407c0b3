// Socket.IO on one node, authenticating the handshake as its users do: a middleware (`io.use`)
// that verifies the HS256 token of the `Authorization` header with the same one-HMAC check as
// `raw-ws-jwt.mjs`, then `connected` and `auth_success` events. WebSocket transport only.
// `join_room` and `chat` broadcast to a room, as in socketio-redis.mjs.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { handshakeToken, hs256Verifier } from '../lib/hs256.mjs';

const port = Number(process.env.PORT ?? 3100);
const verify = hs256Verifier(process.env.JWT_SECRET ?? 'bench-secret');
const httpServer = createServer((req, res) => res.end('{"status":"ok"}'));
// PER_MESSAGE_DEFLATE=on (the `compression` scenario): Socket.IO's own permessage-deflate
// (`perMessageDeflate: true`, threshold 1024), compressed per socket by ws underneath.
const io = new Server(httpServer, {
  transports: ['websocket'],
  perMessageDeflate: process.env.PER_MESSAGE_DEFLATE === 'on',
});

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
  // Rooms, for `compression`: the same work as socketio-redis.mjs on one node.
  socket.on('join_room', (data) => {
    socket.join(data.room_id);
    socket.emit('room_joined', { room_id: data.room_id });
  });
  socket.on('chat', (data) => {
    io.to(data.room_id).emit('chat_message', {
      room_id: data.room_id,
      user_id: claims.user_id ?? claims.sub,
      username: claims.username,
      content: data.content,
      timestamp: new Date().toISOString(),
    });
  });
});

httpServer.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  io.close();
  process.exit(0);
});

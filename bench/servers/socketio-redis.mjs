// Socket.IO with @socket.io/redis-adapter: the cluster setup most NestJS users reach for today.
// Same work as the others: join a room, and broadcast each chat to the room on every node.
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 3100);
const pub = new Redis(process.env.REDIS_URL);
const sub = pub.duplicate();
const httpServer = createServer((req, res) => res.end('{"status":"ok"}'));
const io = new Server(httpServer, {
  transports: ['websocket'],
  perMessageDeflate: false,
  adapter: createAdapter(pub, sub),
});

io.on('connection', (socket) => {
  socket.emit('connected', { client_id: socket.id });
  socket.on('join_room', async (data) => {
    await socket.join(data.room_id);
    socket.emit('room_joined', { room_id: data.room_id });
  });
  socket.on('chat', (data) => {
    io.to(data.room_id).emit('chat_message', {
      room_id: data.room_id,
      user_id: socket.id,
      username: 'anonymous',
      content: data.content,
      timestamp: new Date().toISOString(),
    });
  });
});

httpServer.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  io.close();
  pub.disconnect();
  sub.disconnect();
  process.exit(0);
});

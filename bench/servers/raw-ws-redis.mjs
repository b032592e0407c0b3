// The cluster baseline: the raw `ws` server of raw-ws.mjs plus a bare Redis relay. A chat is
// numbered and published in one Lua call (as the module does, so both keep one order across
// nodes); every node, the publisher included, delivers what it receives from its room
// subscription, framing each frame once and writing it to its local members.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Sender, WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 3100);
const redisUrl = process.env.REDIS_URL;
const pub = new Redis(redisUrl);
const sub = new Redis(redisUrl);
pub.defineCommand('publishRoom', {
  numberOfKeys: 1,
  lua: `local seq = redis.call('INCR', KEYS[1]) redis.call('PUBLISH', ARGV[1], ARGV[2] .. seq .. ARGV[3]) return seq`,
});
const server = createServer((req, res) => res.end('{"status":"ok"}'));
const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
const rooms = new Map();
const epoch = 'raw';

sub.on('message', (channel, message) => {
  const members = rooms.get(channel.slice(5));
  if (!members) return;
  const frame = Sender.frame(Buffer.from(message), { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false });
  for (const member of members) if (member.readyState === 1) member._sender.sendFrame(frame);
});

wss.on('connection', (ws) => {
  const id = randomUUID();
  ws.send(JSON.stringify({ type: 'connected', data: { client_id: id }, timestamp: new Date().toISOString() }));
  ws.on('message', async (raw) => {
    let message;
    try {
      message = JSON.parse(raw.toString());
    } catch {
      return;
    }
    const now = new Date().toISOString();
    if (message?.type === 'join_room') {
      const roomId = message.data.room_id;
      if (!rooms.has(roomId)) {
        rooms.set(roomId, new Set());
        await sub.subscribe(`room:${roomId}`);
      }
      rooms.get(roomId).add(ws);
      ws.send(JSON.stringify({ type: 'room_joined', id: message.id, data: { room_id: roomId }, timestamp: now }));
    } else if (message?.type === 'chat') {
      const roomId = message.data.room_id;
      const data = JSON.stringify({
        room_id: roomId,
        user_id: id,
        username: 'anonymous',
        content: message.data.content,
        timestamp: now,
      });
      await pub.publishRoom(
        `seq:${roomId}`,
        `room:${roomId}`,
        `{"type":"chat_message","room":${JSON.stringify(roomId)},"seq":`,
        `,"epoch":"${epoch}","data":${data},"timestamp":"${now}"}`,
      );
    }
  });
  ws.on('close', () => {
    for (const members of rooms.values()) members.delete(ws);
  });
});

server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  for (const ws of wss.clients) ws.terminate();
  pub.disconnect();
  sub.disconnect();
  server.close(() => process.exit(0));
});

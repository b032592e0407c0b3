// The baseline: a bare `ws` server on a plain HTTP server doing the same protocol work as the
// module and nothing else: no routing table, no registry beyond Sets, no heartbeats, no auth.
//   echo      → parse, stamp, serialize the reply
//   join_room → add to the room's Set, reply room_joined
//   chat      → serialize chat_message once, frame it once, write the same frame to every member
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Sender, WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 3100);
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"status":"ok"}');
});
// WS_DEFLATE=on (the `compression` scenario): permessage-deflate as a ws user turns it on
// (`perMessageDeflate: true`: ws's defaults, threshold 1024), which compresses per socket, so a
// broadcast is sent with `send()` to each member instead of one pre-built frame.
const deflate = process.env.WS_DEFLATE === 'on';
const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: deflate, maxPayload: 1024 * 1024 });
const clients = new Set();
const rooms = new Map();
const sequences = new Map();
const epoch = randomUUID().slice(0, 8);

function broadcast(roomId, type, data) {
  const members = rooms.get(roomId);
  if (!members) return;
  const seq = (sequences.get(roomId) ?? 0) + 1;
  sequences.set(roomId, seq);
  const payload = Buffer.from(
    JSON.stringify({ type, room: roomId, seq, epoch, data, timestamp: new Date().toISOString() }),
  );
  if (deflate) {
    for (const member of members) if (member.readyState === 1) member.send(payload);
    return;
  }
  // One frame for every member: header and payload are built once.
  const frame = Sender.frame(payload, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false });
  for (const member of members) {
    if (member.readyState === 1) member._sender.sendFrame(frame);
  }
}

wss.on('connection', (ws) => {
  clients.add(ws);
  const id = randomUUID();
  ws.send(JSON.stringify({ type: 'connected', data: { client_id: id }, timestamp: new Date().toISOString() }));
  ws.on('message', (raw) => {
    let message;
    try {
      message = JSON.parse(raw.toString());
    } catch {
      return;
    }
    const now = new Date().toISOString();
    switch (message?.type) {
      case 'echo':
        ws.send(JSON.stringify({ type: 'echo_response', id: message.id, data: message.data, timestamp: now }));
        break;
      case 'join_room': {
        const roomId = message.data.room_id;
        if (!rooms.has(roomId)) rooms.set(roomId, new Set());
        rooms.get(roomId).add(ws);
        ws.send(
          JSON.stringify({
            type: 'room_joined',
            id: message.id,
            data: { room_id: roomId, client_count: rooms.get(roomId).size },
            timestamp: now,
          }),
        );
        break;
      }
      case 'chat':
        broadcast(message.data.room_id, 'chat_message', {
          room_id: message.data.room_id,
          user_id: id,
          username: 'anonymous',
          content: message.data.content,
          timestamp: now,
        });
        break;
    }
  });
  ws.on('close', () => {
    clients.delete(ws);
    for (const members of rooms.values()) members.delete(ws);
  });
});

server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  for (const ws of clients) ws.terminate();
  wss.close();
  server.close(() => process.exit(0));
});

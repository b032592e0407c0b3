import { type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { type ClusterAdapter, RealtimeEmitter, RealtimeEmitterModule, RoomManager } from '../../lib/index.js';
import { TestClient } from './test-client.js';
import { until } from './until.js';

/** A client authenticated with `token` at the handshake and joined to `roomId`. */
export async function memberOf(url: string, token: string, roomId: string): Promise<TestClient> {
  const client = await TestClient.connect(`${url}?token=${token}`);
  await client.next('auth_success');
  await client.request({ type: 'join_room', id: 'j', data: { room_id: roomId } });
  return client;
}

/** Sends chats and waits until the sender has them back: they have all been broadcast. */
export async function say(client: TestClient, roomId: string, contents: string[]): Promise<void> {
  for (const content of contents) client.send({ type: 'chat', data: { room_id: roomId, content } });
  for (const content of contents) {
    await until(() => client.frames.some((f) => f.type === 'chat_message' && f.data.content === content));
  }
}

/** A process without WebSockets (a worker) publishing through `RealtimeEmitter`, as a user's would. */
export async function startEmitter(
  cluster: ClusterAdapter,
): Promise<{ emitter: RealtimeEmitter; close: () => Promise<void> }> {
  class WorkerModule {}
  Module({ imports: [RealtimeEmitterModule.forRoot({ cluster })] })(WorkerModule);
  const worker = await NestFactory.createApplicationContext(WorkerModule, { logger: false });
  return { emitter: worker.get(RealtimeEmitter), close: () => worker.close() };
}

/**
 * Makes a clustered node die as a crashed process would: no more heartbeats, its Redis
 * connections cut, no goodbye. Its WebSocket server is left to the caller.
 */
export function crashClusterNode(app: INestApplication): void {
  const adapter = (
    app.get(RoomManager) as unknown as {
      cluster: { heartbeat: NodeJS.Timeout; pub: Redis; sub: Redis; stopped: boolean };
    }
  ).cluster;
  clearInterval(adapter.heartbeat);
  adapter.stopped = true;
  adapter.pub.disconnect();
  adapter.sub.disconnect();
}

import { Body, Controller, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RealtimeHttpAuthGuard, type RealtimeUser, RealtimeModule, RoomManager } from '../../lib/index.js';
import { memberOf } from '../support/chat.js';
import { TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';

/** A Fastify controller broadcasting through the injected RoomManager, as the token's user. */
@Controller('rooms')
class AnnounceController {
  constructor(private readonly rooms: RoomManager) {}

  @Post(':id/announcements')
  @HttpCode(202)
  @UseGuards(RealtimeHttpAuthGuard)
  async announce(
    @Param('id') roomId: string,
    @Body() body: { text: string },
    @Req() request: { user: RealtimeUser },
  ): Promise<{ seq: number }> {
    const { seq } = await this.rooms.broadcast(roomId, 'announcement', { text: body.text, by: request.user.id });
    return { seq };
  }
}

describe('on @nestjs/platform-fastify (e2e)', () => {
  let app: NestFastifyApplication;
  let port: number;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [RealtimeModule.forRoot({ auth: { secret: TEST_SECRET } })],
      controllers: [AnnounceController],
    }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as { port: number }).port;
  });
  afterAll(() => app.close());

  it('authenticates a handshake token and delivers a controller broadcast to the room', async () => {
    const token = hsToken({ user_id: 'ann', username: 'Ann' });
    const member = await memberOf(`ws://127.0.0.1:${port}/ws`, token, 'lobby');
    expect(member.frames.find((f) => f.type === 'auth_success')?.data).toMatchObject({ user_id: 'ann' });

    const response = await fetch(`http://127.0.0.1:${port}/rooms/lobby/announcements`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hsToken({ user_id: 'admin' })}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'hello from fastify' }),
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ seq: 1 });
    const frame = await member.next('announcement');
    expect(frame).toMatchObject({ room: 'lobby', seq: 1, data: { text: 'hello from fastify', by: 'admin' } });
    await member.close();
  });

  it('refuses a bad handshake token with 401 and a REST call without a token', async () => {
    const attempt = TestClient.connect(`ws://127.0.0.1:${port}/ws?token=not-a-jwt`);
    await expect(attempt).rejects.toMatchObject({ statusCode: 401 });
    const response = await fetch(`http://127.0.0.1:${port}/rooms/lobby/announcements`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":"x"}',
    });
    expect(response.status).toBe(401);
  });

  it('still serves ordinary Fastify routes and answers 404 to an upgrade on another path', async () => {
    expect((await fetch(`http://127.0.0.1:${port}/nothing-here`)).status).toBe(404);
    await expect(TestClient.connect(`ws://127.0.0.1:${port}/elsewhere`)).rejects.toMatchObject({ statusCode: 404 });
  });
});

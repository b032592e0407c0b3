import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Controller, HttpCode, Logger, Param, Post } from '@nestjs/common';
import {
  NotInRoomException,
  RealtimeException,
  RealtimeForbiddenException,
  RoomManager,
  UserOfflineException,
} from '../../lib/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const ROOM_ID_RULE = 'room_id must be 1..128 characters of [A-Za-z0-9_.:@#/-]';

/** What a user's REST controller does with the injected RoomManager. */
@Controller('rooms')
class RoomsRestController {
  constructor(private readonly rooms: RoomManager) {}

  @Post(':id/messages')
  @HttpCode(202)
  async post(@Param('id') roomId: string): Promise<{ seq: number }> {
    const { seq } = await this.rooms.broadcast(roomId, 'note', { text: 'from REST' });
    return { seq };
  }

  @Post('throw/:kind')
  throw(@Param('kind') kind: string): never {
    switch (kind) {
      case 'forbidden':
        throw new RealtimeForbiddenException('not allowed to post in room "vip"');
      case 'offline':
        throw new UserOfflineException('u-9');
      case 'not-in-room':
        throw new NotInRoomException('general');
      case 'boom':
        throw new Error('db down');
      case 'custom':
        throw new RealtimeException('QUOTA', 'quota exceeded', { limit: 3 });
      default:
        throw new RealtimeException('PAYMENT_REQUIRED', 'pay first', undefined, undefined, 402);
    }
  }
}

describe('RealtimeException in an HTTP context (e2e)', () => {
  let t: TestApp;
  const errors: unknown[] = [];

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation((...args: unknown[]) => void errors.push(args));
    t = await createTestApp({}, { controllers: [RoomsRestController] });
  });
  afterAll(async () => {
    await t.close();
    jest.restoreAllMocks();
  });

  const post = (path: string) => fetch(`${t.http}/rooms/${path}`, { method: 'POST' });

  it('answers a bad room id given to RoomManager with 400 and the rule, not an anonymous 500', async () => {
    const response = await post(`${encodeURIComponent('no spaces')}/messages`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      code: 'BAD_REQUEST',
      message: ROOM_ID_RULE,
    });
    expect((await post(`${'x'.repeat(129)}/messages`)).status).toBe(400);
    expect((await post('fine/messages')).status).toBe(202);
    // A client error, like Nest's own HttpExceptions: nothing for the error log.
    expect(errors).toEqual([]);
  });

  it.each([
    ['forbidden', 403, 'FORBIDDEN', 'not allowed to post in room "vip"'],
    ['offline', 404, 'USER_OFFLINE', 'user "u-9" is offline'],
    ['not-in-room', 409, 'NOT_IN_ROOM', 'join room "general" first'],
    ['custom', 400, 'QUOTA', 'quota exceeded'],
    ['status', 402, 'PAYMENT_REQUIRED', 'pay first'],
  ])('maps %s to HTTP %i with its code and message', async (kind, status, code, message) => {
    const response = await post(`throw/${kind}`);
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ statusCode: status, code, message });
  });

  it('keeps the details', async () => {
    expect(await (await post('throw/custom')).json()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      code: 'QUOTA',
      message: 'quota exceeded',
      details: { limit: 3 },
    });
  });

  it('still answers anything else with a 500 that is logged', async () => {
    expect((await post('throw/boom')).status).toBe(500);
    expect(errors).toContainEqual([expect.objectContaining({ message: 'db down' })]);
  });
});

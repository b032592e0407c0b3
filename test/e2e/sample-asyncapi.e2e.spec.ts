import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAsyncApiDocument, type AsyncApiDocument } from '../../lib/asyncapi/index.js';
import { AppModule } from '../../sample/app.module.js';
import { sampleAsyncApiDocument, serveSampleAsyncApi } from '../../sample/asyncapi/sample-asyncapi.js';
import { loadSampleConfig } from '../../sample/sample.config.js';
import { describeDiagnostic, validateAsyncApi } from '../support/asyncapi.js';
import { memberOf } from '../support/chat.js';
import { hsToken } from '../support/tokens.js';

const SECRET = 'sample-asyncapi-secret-0123456789abcdef';
const COMMITTED = join(process.cwd(), 'sample', 'asyncapi', 'asyncapi.yaml');

describe("the sample's AsyncAPI document (e2e)", () => {
  let app: INestApplication;
  let http: string;
  let url: string;
  let served: AsyncApiDocument;
  let servedYaml: string;

  beforeAll(async () => {
    const config = loadSampleConfig({ JWT_SECRET: SECRET, LOG_LEVEL: 'error' });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    serveSampleAsyncApi(app); // as sample/main.ts does, before listen()
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    http = `http://127.0.0.1:${port}`;
    url = `ws://127.0.0.1:${port}/ws`;
    served = (await (await fetch(`${http}/asyncapi.json`)).json()) as AsyncApiDocument;
    servedYaml = await (await fetch(`${http}/asyncapi.yaml`)).text();
  });
  afterAll(() => app.close());

  it('is served at GET /asyncapi.json and /asyncapi.yaml, valid for the official parser', async () => {
    for (const text of [JSON.stringify(served), servedYaml]) {
      const { document, errors, warnings } = await validateAsyncApi(text);
      expect(errors.map(describeDiagnostic)).toEqual([]);
      expect(warnings.map(describeDiagnostic)).toEqual([]);
      expect(document?.info().title()).toBe('nest-realtime chat sample');
    }
  });

  it('documents every handler of the sample, with its reply types', () => {
    const receives = Object.values(served.operations)
      .filter((operation) => operation.action === 'receive')
      .map((operation) => operation.title);
    expect(receives).toEqual([
      'auth',
      'ping',
      'echo',
      'join_room',
      'leave_room',
      'chat',
      'presence',
      'private_message',
      'admin_message',
      'resume',
      'reaction',
    ]);
    const replyNames = (type: string) =>
      served.operations[`receive.${type}`]?.reply?.messages.map(({ $ref }) => $ref.replace(/^.*\/server\./, ''));
    expect(replyNames('auth')).toEqual(['auth_success', 'error', 'auth_error']);
    expect(replyNames('join_room')).toEqual(['room_joined', 'error']);
    expect(replyNames('resume')).toEqual(['resumed', 'resume_failed', 'room_left', 'error']);
    expect(replyNames('admin_message')).toEqual(['error', 'authorization_error']);
    // `reaction` answers only with errors: what it sends is a room broadcast, like `chat`'s.
    expect(replyNames('reaction')).toEqual(['error']);
    expect(served.operations['send.reaction_added']?.description).toContain('Caused by `reaction`');
    expect(served.operations['send.chat_message']?.description).toContain('Caused by `chat`');
  });

  it("documents the reaction handler's DTO fields, and its broadcast with room, seq and epoch", () => {
    const { messages, schemas } = served.components;
    expect(messages['client.reaction']).toMatchObject({
      summary: 'React to a chat message of a room with an emoji.',
      payload: { required: ['type', 'data'], properties: { data: { $ref: '#/components/schemas/ReactionDto' } } },
      examples: [{ payload: { type: 'reaction', data: { room_id: 'general', seq: 41, emoji: '👍' } } }],
    });
    expect(schemas.ReactionDto).toEqual({
      type: 'object',
      properties: {
        room_id: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:@#/-]+$' },
        seq: { type: 'integer', minimum: 1 },
        emoji: { type: 'string', enum: ['👍', '❤️', '😂', '🎉', '😮', '😢'] },
      },
      required: ['room_id', 'seq', 'emoji'],
    });
    expect(messages['server.reaction_added']?.payload).toMatchObject({
      required: ['type', 'room', 'seq', 'epoch', 'data', 'timestamp'],
      properties: { data: { $ref: '#/components/schemas/ReactionAddedDto' } },
    });
    expect(schemas.ReactionAddedDto?.required).toEqual(['room_id', 'seq', 'emoji', 'user_id', 'username']);
    // The REST DTO of the sample has class-validator metadata too, but is no message payload.
    expect(Object.keys(schemas)).not.toContain('PostMessageDto');
  });

  it('behaves as documented: reaction_added to every member, with room, seq and epoch', async () => {
    const ann = await memberOf(url, hsToken({ user_id: 'ann', username: 'Ann' }, SECRET), 'general');
    const bob = await memberOf(url, hsToken({ user_id: 'bob', username: 'Bob' }, SECRET), 'general');
    const outsider = await memberOf(url, hsToken({ user_id: 'eve', username: 'Eve' }, SECRET), 'elsewhere');
    try {
      ann.send({ type: 'chat', data: { room_id: 'general', content: 'hi' } });
      const chat = await bob.next('chat_message');
      ann.send({ type: 'reaction', id: 'r1', data: { room_id: 'general', seq: chat.seq, emoji: '🎉' } });
      for (const client of [ann, bob]) {
        const frame = await client.next('reaction_added');
        expect(frame).toMatchObject({
          room: 'general',
          seq: (chat.seq as number) + 1,
          epoch: chat.epoch,
          data: { room_id: 'general', seq: chat.seq, emoji: '🎉', user_id: 'ann', username: 'Ann' },
        });
        expect(frame.id).toBeUndefined();
      }
      const bad = await ann.request({ type: 'reaction', id: 'r2', data: { room_id: 'general', seq: 1, emoji: '💩' } });
      expect(bad).toMatchObject({ type: 'error', id: 'r2', data: { code: 'BAD_REQUEST' } });
      expect(JSON.stringify(bad.data.details)).toContain('emoji');
      const notMember = await outsider.request({
        type: 'reaction',
        id: 'r3',
        data: { room_id: 'general', seq: 1, emoji: '👍' },
      });
      expect(notMember).toMatchObject({ type: 'error', id: 'r3', data: { code: 'NOT_IN_ROOM' } });
    } finally {
      await Promise.all([ann.close(), bob.close(), outsider.close()]);
    }
  });

  it('is committed, up to date, in sample/asyncapi/asyncapi.yaml (`npm run asyncapi:sample` rewrites it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sample-asyncapi-'));
    try {
      const fresh = join(dir, 'asyncapi.yaml');
      await writeAsyncApiDocument(sampleAsyncApiDocument(app), fresh);
      const committed = readFileSync(COMMITTED, 'utf8');
      const current = readFileSync(fresh, 'utf8');
      if (current !== committed) {
        throw new Error('sample/asyncapi/asyncapi.yaml is out of date: run `npm run asyncapi:sample` and commit it');
      }
      expect(servedYaml).toBe(committed);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

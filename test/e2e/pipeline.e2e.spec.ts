import { Injectable, Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { OnMessage, RealtimeModule } from '../../lib/index.js';
import { MessageHandlerRegistry } from '../../lib/discovery/message-handler.registry.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { NotesService } from './fixtures.js';

describe("router: handlers on any provider, through Nest's pipeline (e2e)", () => {
  let t: TestApp;
  let client: TestClient;

  beforeAll(async () => {
    t = await createTestApp({}, { providers: [NotesService] });
    client = await TestClient.connect(t.url);
    await client.next('connected');
  });
  afterAll(async () => {
    await client.close();
    await t.close();
  });

  it('routes to a method of a plain provider and skips the pipeline only where nothing applies', () => {
    const registry = t.app.get(MessageHandlerRegistry);
    expect(registry.get('silent')).toMatchObject({ label: 'NotesService.silent', direct: true });
    expect(registry.get('guarded')).toMatchObject({ label: 'NotesService.guarded', direct: false });
    expect(registry.get('note.create')?.direct).toBe(false);
    expect(registry.get('echo')).toMatchObject({ builtin: true, direct: true });
  });

  it('runs a guard that lets a message through', async () => {
    expect(await client.request({ type: 'guarded', id: 'g1', data: { allow: true } })).toMatchObject({
      type: 'guarded_ok',
      id: 'g1',
      data: 'passed',
    });
  });

  it('turns a guard denial into an error frame and keeps the connection', async () => {
    expect(await client.request({ type: 'guarded', id: 'g2', data: { allow: false } })).toEqual({
      type: 'error',
      id: 'g2',
      data: { code: 'FORBIDDEN', message: 'Forbidden resource' },
      timestamp: expect.any(String),
    });
    expect(await client.request({ type: 'echo', id: 'g3', data: 'still open' })).toMatchObject({ data: 'still open' });
  });

  it('runs an interceptor that wraps the result, with context type ws', async () => {
    expect(await client.request({ type: 'wrapped', id: 'w1', data: { value: 21 } })).toMatchObject({
      type: 'wrapped_response',
      id: 'w1',
      data: { wrapped: 42, contextType: 'ws' },
    });
  });

  it('validates a DTO with ValidationPipe and passes a class instance to the handler', async () => {
    expect(
      await client.request({ type: 'note.create', id: 'n1', data: { title: 'groceries', priority: 3 } }),
    ).toMatchObject({
      type: 'note.created',
      data: { count: 1, isDto: true },
    });
  });

  it('answers a bad DTO with BAD_REQUEST and the validation messages in details', async () => {
    const notesBefore = t.app.get(NotesService).notes.length;
    const reply = await client.request({
      type: 'note.create',
      id: 'n2',
      data: { title: 'ab', priority: 11, admin: true },
    });
    expect(reply.type).toBe('error');
    expect(reply.id).toBe('n2');
    expect(reply.data.code).toBe('BAD_REQUEST');
    expect(reply.data.message).toBe('validation failed');
    expect([...reply.data.details].sort()).toEqual(
      [
        'property admin should not exist',
        'title must be longer than or equal to 3 characters',
        'priority must not be greater than 10',
      ].sort(),
    );
    // The handler never ran.
    expect(t.app.get(NotesService).notes).toHaveLength(notesBefore);
  });

  it('lets an exception filter map an exception to its own reply', async () => {
    const reply = await client.request({ type: 'domain', id: 'd1' });
    expect(reply).toMatchObject({ type: 'domain_error', id: 'd1', data: { reason: 'quota exceeded' } });
    expect(typeof reply.data.client).toBe('string');
  });

  it.each([
    ['boom', 'a synchronous throw'],
    ['boom.async', 'a rejected promise'],
  ])('answers %s (%s) with INTERNAL and no internals', async (type) => {
    const reply = await client.request({ type, id: `i-${type}` });
    expect(reply).toEqual({
      type: 'error',
      id: `i-${type}`,
      data: { code: 'INTERNAL', message: 'internal error' },
      timestamp: expect.any(String),
    });
    expect(JSON.stringify(reply)).not.toMatch(/secret|hunter2|at .*\.ts/);
  });

  it('maps WsException, HTTP exceptions and RealtimeException to their codes', async () => {
    expect((await client.request({ type: 'ws.exception', id: 'e1' })).data).toEqual({
      code: 'NOT_IN_ROOM',
      message: 'join the room first',
    });
    expect((await client.request({ type: 'http.exception', id: 'e2' })).data).toEqual({
      code: 'BAD_REQUEST',
      message: 'content is required',
    });
    expect((await client.request({ type: 'realtime.exception', id: 'e3' })).data).toEqual({
      code: 'CUSTOM_CODE',
      message: 'custom failure',
      details: { hint: 1 },
    });
  });

  it.each([
    [400, 'BAD_REQUEST'],
    [401, 'AUTH_REQUIRED'],
    [403, 'FORBIDDEN'],
    [404, 'NOT_FOUND'],
    [409, 'BAD_REQUEST'],
    [422, 'BAD_REQUEST'],
    [429, 'RATE_LIMITED'],
  ])('maps a thrown HTTP %i to %s with its message, called directly or through the pipeline', async (status, code) => {
    for (const type of ['http.status', 'http.status.piped']) {
      expect(await client.request({ type, id: `h-${type}-${status}`, data: { status } })).toEqual({
        type: 'error',
        id: `h-${type}-${status}`,
        data: { code, message: `status ${status}` },
        timestamp: expect.any(String),
      });
    }
  });

  it.each([500, 503, 302])('maps a thrown HTTP %i to INTERNAL, without its message, and logs it', async (status) => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    // A connection of its own: the errors one connection causes are logged within a budget.
    const fresh = await TestClient.connect(t.url);
    await fresh.next('connected');
    try {
      for (const type of ['http.status', 'http.status.piped']) {
        expect((await fresh.request({ type, id: `h5-${type}-${status}`, data: { status } })).data).toEqual({
          code: 'INTERNAL',
          message: 'internal error',
        });
        expect(logged).toHaveBeenCalledWith(
          `Handler for message type "${type}" threw`,
          expect.stringContaining(`status ${status}`),
        );
        logged.mockClear();
      }
    } finally {
      logged.mockRestore();
      await fresh.close();
    }
  });

  it('replies with the value of a Promise and the last value of an Observable', async () => {
    expect(await client.request({ type: 'async.value', id: 'a1', data: 41 })).toMatchObject({
      type: 'async.value',
      data: 42,
    });
    expect(await client.request({ type: 'observable.value', id: 'o1' })).toMatchObject({ data: 'last' });
  });

  it('sends nothing for a handler that returns undefined', async () => {
    client.send({ type: 'silent', id: 's1' });
    const next = await client.request({ type: 'echo', id: 's2' });
    expect(next.id).toBe('s2');
    expect(client.frames.some((f) => f.id === 's1')).toBe(false);
  });

  it('resolves @Connection, @Message, stacked types, Nest websocket decorators and positional args', async () => {
    const who = await client.request({ type: 'whoami.alias', id: 'x1', metadata: { trace: 'abc' } } as never);
    expect(who).toMatchObject({ type: 'whoami', data: { type: 'whoami.alias', metadata: { trace: 'abc' } } });
    expect(typeof who.data.id).toBe('string');
    expect((await client.request({ type: 'nest.decorators', id: 'x2', data: [1] })).data).toEqual({
      body: [1],
      isConnection: true,
    });
    expect((await client.request({ type: 'positional', id: 'x3', data: 'd' })).data).toEqual({
      isConnection: true,
      data: 'd',
      id: 'x3',
      type: 'positional',
    });
  });

  it('sends a synchronous reply before any frame produced after it', async () => {
    // A vanilla Nest gateway sends returned values asynchronously, so a frame produced on the
    // next microtask overtakes the reply; here the reply goes out in the same tick.
    client.send({ type: 'order.probe', id: 'op' });
    const [first, second] = [await client.next(), await client.next()];
    expect([first.type, second.type]).toEqual(['order.reply', 'order.later']);
  });
});

@Injectable()
class FirstChat {
  @OnMessage('chat.dup')
  handle(): void {}
}

@Injectable()
class SecondChat {
  @OnMessage('chat.dup')
  handle(): void {}
}

@Injectable()
class MyEcho {
  @OnMessage('echo', { reply: 'my_echo' })
  echo(): string {
    return 'mine';
  }
}

describe('router: start-up checks', () => {
  it('fails start-up with a message naming both handlers of one type', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [RealtimeModule.forRoot({})],
      providers: [FirstChat, SecondChat],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await expect(app.init()).rejects.toThrow(
      "Two @OnMessage('chat.dup') handlers: FirstChat.handle and SecondChat.handle",
    );
    await app.close();
  });

  it('lets an application handler replace a built-in', async () => {
    const t = await createTestApp({}, { providers: [MyEcho] });
    const client = await TestClient.connect(t.url);
    expect(await client.request({ type: 'echo', id: 'm1', data: 1 })).toMatchObject({ type: 'my_echo', data: 'mine' });
    await client.close();
    await t.close();
  });

  it('switches a built-in off', async () => {
    const t = await createTestApp({ builtins: { ping: false } });
    const client = await TestClient.connect(t.url);
    expect((await client.request({ type: 'ping', id: 'p' })).data.code).toBe('UNKNOWN_TYPE');
    expect((await client.request({ type: 'echo', id: 'e', data: 2 })).data).toBe(2);
    await client.close();
    await t.close();
  });
});

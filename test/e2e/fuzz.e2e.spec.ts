import { Logger } from '@nestjs/common';
import { describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import WebSocket from 'ws';
import { ErrorCode } from '../../lib/index.js';
import { ErrorFrameType } from '../../lib/protocol/error-codes.js';
import { useCleanup } from '../support/cleanup.js';
import { frameText, nested, PROTOTYPE_KEYS } from '../support/fuzz-frames.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { type Frame, TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';
import { until } from '../support/until.js';

/** Runs of the router property and frames per fuzzing client; printed in the report of issue 14. */
const ROUTER_RUNS = 2000;
const FRAMES_PER_FUZZER = 1000;
const FUZZERS = 4;
const CONTROL_CHATS = 200;

const ERROR_CODES = new Set<string>(Object.values(ErrorCode));
const ERROR_TYPES = new Set<string>(Object.values(ErrorFrameType));
/** Every frame type PROTOCOL.md lets the server send in answer to the built-in types. */
const PROTOCOL_TYPES = new Set<string>([
  ...ERROR_TYPES,
  'auth_success',
  'echo_response',
  'pong',
  'room_joined',
  'room_left',
  'chat_message',
  'private_message',
  'announcement',
  'presence_state',
  'presence_diff',
  'resumed',
  'resume_failed',
]);

/**
 * Asserts that `frames` are what PROTOCOL.md allows as answers: known types, and every error
 * frame with a PROTOCOL.md code. Returns the codes seen.
 */
function expectProtocolFrames(frames: Frame[]): string[] {
  const codes: string[] = [];
  for (const frame of frames) {
    expect(PROTOCOL_TYPES).toContain(frame.type);
    if (ERROR_TYPES.has(frame.type)) {
      expect(ERROR_CODES).toContain(frame.data?.code);
      expect(typeof frame.data.message).toBe('string');
      codes.push(frame.data.code as string);
    }
  }
  return codes;
}

let markers = 0;
/**
 * Sends a `ping` after what was sent before and returns the frames that came before its `pong`:
 * messages are handled in order (PROTOCOL.md, "Ordering"), so these are all the answers to them.
 */
async function answersBeforeMarker(client: TestClient): Promise<Frame[]> {
  const id = `marker-${++markers}`;
  const from = client.frames.length;
  await client.request({ type: 'ping', id }, 10_000);
  const to = client.frames.findIndex((f, i) => i >= from && f.type === 'pong' && f.id === id);
  return client.frames.slice(from, to);
}

const prototypeNames = () => Object.getOwnPropertyNames(Object.prototype).sort();

/**
 * Watches the server's error log: the dispatcher answers every failure itself, so an error logged
 * while fuzzing is an exception that escaped it (the server's last-line catch logs those) or a
 * handler that failed on client input.
 */
function watchErrorLog(cleanup: ReturnType<typeof useCleanup>): () => unknown[][] {
  const spy = jest.spyOn(Logger.prototype, 'error');
  cleanup.defer(() => spy.mockRestore());
  return () => spy.mock.calls;
}

describe('fuzzing the server through real sockets (issue 14)', () => {
  const cleanup = useCleanup();

  const start = (): Promise<TestApp> =>
    createTestApp({ auth: { secret: TEST_SECRET, required: false }, rateLimit: false }).then((t) => cleanup.track(t));

  async function member(t: TestApp, userId: string, room?: string): Promise<TestClient> {
    const client = cleanup.track(await TestClient.connect(`${t.url}?token=${hsToken({ user_id: userId })}`));
    await client.next('auth_success');
    if (room) await client.request({ type: 'join_room', id: 'join', data: { room_id: room } });
    return client;
  }

  it(`answers any frame with PROTOCOL.md frames and stays open (${ROUTER_RUNS} frames)`, async () => {
    const t = await start();
    const before = prototypeNames();
    const client = await member(t, 'fuzzer', 'general');
    const errorLog = watchErrorLog(cleanup);
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(frameText(), async (text) => {
        client.sendRaw(text);
        for (const code of expectProtocolFrames(await answersBeforeMarker(client))) {
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
        expect(client.socket.readyState).toBe(WebSocket.OPEN);
      }),
      { numRuns: ROUTER_RUNS },
    );
    expect(prototypeNames()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Both the decoder's and the handlers' refusals were reached.
    expect(codes.get(ErrorCode.BAD_MESSAGE)).toBeGreaterThan(0);
    expect(codes.get(ErrorCode.BAD_REQUEST)).toBeGreaterThan(0);
    expect(codes.get(ErrorCode.INTERNAL)).toBeUndefined();
    expect(errorLog()).toEqual([]);
  });

  // Room ids and user ids are keys of the server's own tables: one named like a prototype key is
  // an ordinary room or user, never a lookup that lands on Object.prototype.
  it.each(PROTOTYPE_KEYS)('treats a room and a user named "%s" like any other', async (name) => {
    const t = await start();
    const before = prototypeNames();
    const ann = await member(t, name, name);
    const bob = await member(t, 'bob');
    expect(await bob.request({ type: 'join_room', id: 'j', data: { room_id: name } })).toMatchObject({
      type: 'room_joined',
      data: { room_id: name, client_count: 2 },
    });
    bob.send({ type: 'chat', data: { room_id: name, content: 'hi' } });
    expect((await ann.next('chat_message')).data).toMatchObject({ room_id: name, user_id: 'bob', content: 'hi' });
    bob.send({ type: 'private_message', data: { target_user_id: name, content: 'psst' } });
    expect((await ann.next('private_message')).data).toMatchObject({ from_user_id: 'bob', content: 'psst' });
    const presence = await ann.request({ type: 'presence', id: 'p', data: { room_id: name } });
    expect(presence.data.users.map((u: { user_id: string }) => u.user_id).sort()).toEqual(['bob', name].sort());
    // The same names in a resume's rooms map and as a user nobody is: answers, not crashes.
    const resume = await bob.request({
      type: 'resume',
      id: 'r',
      data: { session_id: name, rooms: JSON.parse(`{${JSON.stringify(name)}:{"seq":0,"epoch":"e"}}`) },
    });
    expectProtocolFrames([resume]);
    const offline = await bob.request({
      type: 'private_message',
      id: 'o',
      data: { target_user_id: `${name}-x`, content: 'x' },
    });
    expect(offline.data.code).toBe(ErrorCode.USER_OFFLINE);
    expect(await ann.request({ type: 'leave_room', id: 'l', data: { room_id: name } })).toMatchObject({
      type: 'room_left',
      data: { room_id: name },
    });
    expect(prototypeNames()).toEqual(before);
  });

  // A depth cap in the decoder may turn some of these into BAD_MESSAGE; either answer is right.
  it.each([1_000, 20_000, 60_000])('answers data nested %i deep with a reply or an error frame', async (depth) => {
    const t = await start();
    const client = await member(t, 'deep', 'general');
    for (const objects of [false, true]) {
      const inner = nested(depth, '0', objects);
      for (const text of [
        `{"type":"echo","id":"e","data":${inner}}`,
        `{"type":"chat","id":"c","data":{"room_id":"general","content":${inner}}}`,
        `{"type":"join_room","id":"j","data":{"room_id":"r","x":${inner}},"metadata":${nested(depth, '0', true)}}`,
        inner,
      ]) {
        client.sendRaw(text);
        const answers = await answersBeforeMarker(client);
        expectProtocolFrames(answers);
        expect(answers.length).toBeGreaterThan(0);
      }
    }
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
  });

  it(`delivers a control client's chat completely while ${FUZZERS} clients send ${FUZZERS * FRAMES_PER_FUZZER} random frames`, async () => {
    const t = await start();
    const control = await member(t, 'control', 'general');
    const listener = await member(t, 'listener', 'general');
    const fuzzers = [
      await member(t, 'fuzz-a', 'general'),
      await member(t, 'fuzz-b', 'general'),
      await member(t, 'fuzz-c'),
      cleanup.track(await TestClient.connect(t.url)), // not authenticated
    ];
    const errorLog = watchErrorLog(cleanup);
    const frames = fuzzers.map((_, i) =>
      fc.sample(frameText({ maxDepth: 200 }), { numRuns: FRAMES_PER_FUZZER, seed: 1400 + i }),
    );

    const fuzzing = fuzzers.map(async (fuzzer, i) => {
      for (let n = 0; n < FRAMES_PER_FUZZER; n++) {
        fuzzer.sendRaw(frames[i][n]);
        // Yield now and then, so the control's chats interleave with the fuzzers' frames.
        if (n % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      return answersBeforeMarker(fuzzer);
    });
    const contents = Array.from({ length: CONTROL_CHATS }, (_, n) => `control-${n}`);
    for (const [n, content] of contents.entries()) {
      control.send({ type: 'chat', data: { room_id: 'general', content } });
      if (n % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }

    for (const [i, answers] of (await Promise.all(fuzzing)).entries()) {
      expectProtocolFrames(answers);
      expect(fuzzers[i].socket.readyState).toBe(WebSocket.OPEN);
    }
    const fromControl = (client: TestClient) =>
      client.frames.filter((f) => f.type === 'chat_message' && f.data.user_id === 'control');
    for (const receiver of [control, listener]) {
      await until(() => fromControl(receiver).length >= CONTROL_CHATS, 15_000);
      // Every chat, once, in order; and the room's seq without a gap across everyone's broadcasts.
      expect(fromControl(receiver).map((f) => f.data.content)).toEqual(contents);
    }
    const seqs = listener.frames.filter((f) => f.type === 'chat_message').map((f) => f.seq as number);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, n) => seqs[0] + n));
    // The control client saw nothing but the room's traffic: no error caused by someone else.
    expect(control.frames.filter((f) => ERROR_TYPES.has(f.type))).toEqual([]);
    expect(control.socket.readyState).toBe(WebSocket.OPEN);
    expect(errorLog()).toEqual([]);
  });
});

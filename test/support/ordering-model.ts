import { randomUUID } from 'node:crypto';
import { expect } from '@jest/globals';
import fc from 'fast-check';
import { RoomManager } from '../../lib/index.js';
import type { TestApp } from './test-app.js';
import { type Frame, TestClient } from './test-client.js';
import { hsToken } from './tokens.js';
import { until } from './until.js';

/**
 * A model-based test of per-connection ordering (PROTOCOL.md, "Ordering"): random programs of
 * protocol messages, sent pipelined (nothing waits for a reply) over several connections at
 * once, some of them cut off abruptly, and the frames every connection receives checked against
 * a sequential model of the protocol.
 *
 * What is checked is what the protocol makes deterministic whatever the interleaving between
 * connections:
 * - each connection's own frames (its replies and errors, with their ids, and its own chat
 *   broadcasts) are exactly the model's, in the model's order; a connection cut off got a prefix;
 * - listeners that joined each room before anything started (one per room per node, user `L`)
 *   get every accepted chat exactly once, each sender's in its order, with gap-free `seq`, and
 *   every private message to `L`;
 * - afterwards, each room's members on each node and its cluster-wide presence are exactly the
 *   model's.
 */

export const USERS = ['u0', 'u1', 'u2'] as const;
export const LISTENER = 'L';
const BAD_TOKEN = 'bad';

export type Command =
  | { kind: 'auth'; user: string }
  | { kind: 'join' | 'leave' | 'chat' | 'presence' | 'resume'; room: number }
  | { kind: 'pm'; target: 'L' | 'nobody' }
  | { kind: 'echo' };

export interface Program {
  /** User authenticated at the handshake, if any. */
  initial: string | undefined;
  commands: Command[];
  /** Cut the connection off this many ms after sending everything (undefined: stays open). */
  closeAfter: number | undefined;
}

const userArb = fc.constantFrom<string>(...USERS);

export function commandArb(rooms: number): fc.Arbitrary<Command> {
  const room = fc.integer({ min: 0, max: rooms - 1 });
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('auth' as const), user: fc.oneof(userArb, fc.constant(BAD_TOKEN)) }),
    },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('join' as const), room }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('leave' as const), room }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('chat' as const), room }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('presence' as const), room }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('resume' as const), room }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('pm' as const),
        target: fc.constantFrom<'L' | 'nobody'>('L', 'nobody'),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('echo' as const) }) },
  );
}

export function programsArb(rooms: number): fc.Arbitrary<Program[]> {
  const program = fc.record({
    initial: fc.option(userArb, { nil: undefined }),
    commands: fc.array(commandArb(rooms), { minLength: 1, maxLength: 14 }),
    closeAfter: fc.option(fc.integer({ min: 0, max: 15 }), { nil: undefined, freq: 4 }),
  });
  return fc.array(program, { minLength: 2, maxLength: 4 });
}

/** A frame the model expects a connection to receive because of its own messages. */
interface Expected {
  type: string;
  id: string | undefined;
  check: Record<string, unknown>;
  /** Users a `presence_state` must list (the asker's own user, and the listener). */
  users?: string[];
}

/** What the model says a program does. */
interface Outcome {
  expected: Expected[];
  /** Chats accepted, in order: [room, content, user]. */
  chats: [number, string, string][];
  /** Private messages to L accepted, in order: [content, user]. */
  privateMessages: [string, string][];
  /** Rooms it is a member of at the end, and as whom. */
  rooms: Set<number>;
  user: string | undefined;
}

/** The sequential model: what one connection's program does, on its own. */
export function runModel(program: Program, index: number, roomName: (room: number) => string): Outcome {
  let user = program.initial;
  const rooms = new Set<number>();
  const out: Outcome = { expected: [], chats: [], privateMessages: [], rooms, user };
  const reply = (type: string, id: string, check: Record<string, unknown> = {}) =>
    out.expected.push({ type, id, check });
  const error = (id: string, code: string) => reply('error', id, { code });
  program.commands.forEach((command, i) => {
    const id = `${index}-${i}`;
    if (command.kind === 'auth') {
      if (command.user === BAD_TOKEN) return reply('auth_error', id, { code: 'AUTH_FAILED' });
      user = command.user;
      return reply('auth_success', id, { user_id: user });
    }
    if (user === undefined) return error(id, 'AUTH_REQUIRED');
    switch (command.kind) {
      case 'join':
        rooms.add(command.room);
        return reply('room_joined', id, { room_id: roomName(command.room) });
      case 'leave':
        rooms.delete(command.room);
        return reply('room_left', id, { room_id: roomName(command.room) });
      case 'chat': {
        if (!rooms.has(command.room)) return error(id, 'NOT_IN_ROOM');
        const content = `chat ${id}`;
        out.chats.push([command.room, content, user]);
        // The sender is a member: its own broadcast, which carries no id.
        out.expected.push({ type: 'chat_message', id: undefined, check: { content, user_id: user } });
        return;
      }
      case 'presence':
        if (!rooms.has(command.room)) return error(id, 'NOT_IN_ROOM');
        out.expected.push({
          type: 'presence_state',
          id,
          check: { room_id: roomName(command.room) },
          users: [user, LISTENER],
        });
        return;
      case 'resume': {
        const member = rooms.has(command.room);
        rooms.add(command.room);
        reply('resumed', id, { rooms: [roomName(command.room)] });
        // A stale position cannot be replayed; the membership is restored all the same.
        if (!member) reply('resume_failed', id, { room_id: roomName(command.room) });
        return;
      }
      case 'pm':
        if (command.target === 'nobody') return error(id, 'USER_OFFLINE');
        out.privateMessages.push([`pm ${id}`, user]);
        return;
      case 'echo':
        return reply('echo_response', id);
    }
  });
  out.user = user;
  return out;
}

/** Sends a program's messages all at once. */
export function send(client: TestClient, program: Program, index: number, roomName: (room: number) => string): void {
  program.commands.forEach((command, i) => {
    const id = `${index}-${i}`;
    switch (command.kind) {
      case 'auth':
        return client.send({
          type: 'auth',
          id,
          data: { token: command.user === BAD_TOKEN ? 'not-a-jwt' : tokenOf(command.user) },
        });
      case 'join':
        return client.send({ type: 'join_room', id, data: { room_id: roomName(command.room) } });
      case 'leave':
        return client.send({ type: 'leave_room', id, data: { room_id: roomName(command.room) } });
      case 'chat':
        return client.send({ type: 'chat', id, data: { room_id: roomName(command.room), content: `chat ${id}` } });
      case 'presence':
        return client.send({ type: 'presence', id, data: { room_id: roomName(command.room) } });
      case 'resume':
        return client.send({
          type: 'resume',
          id,
          data: { session_id: randomUUID(), rooms: { [roomName(command.room)]: { seq: 3, epoch: 'stale-epoch' } } },
        });
      case 'pm':
        return client.send({
          type: 'private_message',
          id,
          data: { target_user_id: command.target === 'L' ? LISTENER : 'nobody', content: `pm ${id}` },
        });
      case 'echo':
        return client.send({ type: 'echo', id, data: `echo ${id}` });
    }
  });
}

const tokens = new Map<string, string>();
export function tokenOf(user: string): string {
  let token = tokens.get(user);
  if (token === undefined) tokens.set(user, (token = hsToken({ user_id: user, username: user })));
  return token;
}

/** The frames a connection received because of its own messages (replies, errors, own chats). */
function ownFrames(frames: Frame[], index: number): Frame[] {
  return frames.filter(
    (f) =>
      (f.id !== undefined && String(f.id).startsWith(`${index}-`)) ||
      (f.type === 'chat_message' && String(f.data?.content).startsWith(`chat ${index}-`)),
  );
}

function matches(frame: Frame, expected: Expected): boolean {
  if (frame.type !== expected.type || frame.id !== expected.id) return false;
  const data = (frame.data ?? {}) as Record<string, unknown>;
  const users = Array.isArray(data.users) ? (data.users as { user_id: string }[]).map((u) => u.user_id) : [];
  return (
    Object.entries(expected.check).every(([key, value]) =>
      Array.isArray(value) ? JSON.stringify(data[key]) === JSON.stringify(value) : data[key] === value,
    ) && (expected.users ?? []).every((user) => users.includes(user))
  );
}

const describeFrame = (f: Frame) => `${f.type}#${String(f.id)}${JSON.stringify(f.data ?? null)}`;

/**
 * Runs one generated case against the given nodes (connections spread over them in turn) and
 * checks every connection and listener against the model.
 */
export async function runCase(nodes: TestApp[], programs: Program[], run: number, rooms: number): Promise<void> {
  const roomName = (room: number) => `m${run}-r${room}`;
  const clients: TestClient[] = [];
  try {
    // Listeners: one per room per node, members before anything starts.
    const listeners: { client: TestClient; room: number; node: number }[] = [];
    for (let node = 0; node < nodes.length; node++) {
      for (let room = 0; room < rooms; room++) {
        const client = await TestClient.connect(`${nodes[node].url}?token=${tokenOf(LISTENER)}`);
        clients.push(client);
        await client.next('auth_success');
        await client.request({ type: 'join_room', id: `listen-${room}`, data: { room_id: roomName(room) } });
        listeners.push({ client, room, node });
      }
    }
    // Private messages need L online on every node (in a cluster, registered in Redis).
    await new Promise((resolve) => setTimeout(resolve, nodes.length > 1 ? 50 : 0));

    const outcomes = programs.map((program, index) => runModel(program, index, roomName));
    const actors = await Promise.all(
      programs.map(async (program, index) => {
        const node = index % nodes.length;
        const query = program.initial === undefined ? '' : `?token=${tokenOf(program.initial)}`;
        const client = await TestClient.connect(`${nodes[node].url}${query}`);
        clients.push(client);
        await client.next(program.initial === undefined ? 'connected' : 'auth_success');
        return { client, node };
      }),
    );
    // Everything at once: no connection waits for anything.
    const closing: Promise<unknown>[] = [];
    programs.forEach((program, index) => {
      const { client } = actors[index];
      send(client, program, index, roomName);
      if (program.closeAfter !== undefined) {
        closing.push(
          new Promise<void>((resolve) =>
            setTimeout(() => {
              client.socket.terminate();
              resolve();
            }, program.closeAfter),
          ).then(() => client.closed),
        );
      }
    });
    await Promise.all(closing);
    const open = (index: number) => programs[index].closeAfter === undefined;

    // Each connection's own frames: exactly the model's (a prefix for one cut off).
    for (const [index, { client }] of actors.entries()) {
      const expected = outcomes[index].expected;
      if (open(index)) {
        await until(() => ownFrames(client.frames, index).length >= expected.length, 8000).catch(() => undefined);
      }
      const own = ownFrames(client.frames, index);
      const label = `connection ${index} (${JSON.stringify(programs[index])})`;
      if (open(index)) expect({ label, count: own.length }).toEqual({ label, count: expected.length });
      else expect(own.length).toBeLessThanOrEqual(expected.length);
      own.forEach((frame, i) => {
        if (!matches(frame, expected[i])) {
          throw new Error(
            `${label}: frame ${i} is ${describeFrame(frame)}, the model expects ${JSON.stringify(expected[i])}; ` +
              `received: ${own.map(describeFrame).join(' | ')}`,
          );
        }
      });
    }

    // Listeners: every accepted chat once, each sender's in order, seq gap-free.
    for (const { client, room } of listeners) {
      const wanted = (index: number) => outcomes[index].chats.filter(([r]) => r === room).map(([, content]) => content);
      const total = programs.reduce((sum, _, index) => sum + (open(index) ? wanted(index).length : 0), 0);
      await until(() => client.frames.filter((f) => f.type === 'chat_message').length >= total, 8000).catch(
        () => undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
      const chats = client.frames.filter((f) => f.type === 'chat_message');
      for (let i = 1; i < chats.length; i++) {
        expect([chats[i].epoch, chats[i].seq]).toEqual([chats[0].epoch, (chats[0].seq as number) + i]);
      }
      programs.forEach((_, index) => {
        const got = chats.map((f) => String(f.data.content)).filter((c) => c.startsWith(`chat ${index}-`));
        const want = wanted(index);
        if (open(index)) expect(got).toEqual(want);
        else expect(got).toEqual(want.slice(0, got.length));
        for (const frame of chats.filter((f) => String(f.data.content).startsWith(`chat ${index}-`))) {
          const [, , user] = outcomes[index].chats.find(([, content]) => content === frame.data.content)!;
          expect(frame.data.user_id).toBe(user);
        }
      });
    }
    // Private messages to L reach every L connection, each sender's in order.
    for (const { client } of listeners) {
      programs.forEach((_, index) => {
        const want = outcomes[index].privateMessages.map(([content]) => content);
        const got = client.frames
          .filter((f) => f.type === 'private_message' && String(f.data.content).startsWith(`pm ${index}-`))
          .map((f) => String(f.data.content));
        if (open(index)) expect(got).toEqual(want);
        else expect(got).toEqual(want.slice(0, got.length));
      });
    }

    // The end state: members per node and presence, exactly the model's.
    for (let room = 0; room < rooms; room++) {
      for (let node = 0; node < nodes.length; node++) {
        const want = actors
          .map(({ client, node: n }, index) => ({ client, n, index }))
          .filter(({ n, index }) => n === node && open(index) && outcomes[index].rooms.has(room)).length;
        await until(() => nodes[node].app.get(RoomManager).clientCount(roomName(room)) === want + 1, 5000).catch(
          () => undefined,
        );
        expect({ room, node, members: nodes[node].app.get(RoomManager).clientCount(roomName(room)) }).toEqual({
          room,
          node,
          members: want + 1,
        });
      }
      const users = new Map<string, number>([[LISTENER, nodes.length]]);
      outcomes.forEach((outcome, index) => {
        if (open(index) && outcome.rooms.has(room)) users.set(outcome.user!, (users.get(outcome.user!) ?? 0) + 1);
      });
      const want = [...users].map(([user_id, connections]) => ({ user_id, connections })).sort(byUser);
      const listener = listeners.find((l) => l.room === room)!.client;
      let got: { user_id: string; connections: number }[] = [];
      await until(async () => {
        const state = await listener.request({
          type: 'presence',
          id: `final-${room}-${Math.random()}`,
          data: { room_id: roomName(room) },
        });
        got = (state.data.users as { user_id: string; connections: number }[])
          .map(({ user_id, connections }) => ({ user_id, connections }))
          .sort(byUser);
        return JSON.stringify(got) === JSON.stringify(want);
      }, 5000).catch(() => undefined);
      expect({ room, presence: got }).toEqual({ room, presence: want });
    }
  } finally {
    for (const client of clients) client.socket.terminate();
    await Promise.all(clients.map((c) => c.closed));
  }
}

const byUser = (a: { user_id: string }, b: { user_id: string }) => a.user_id.localeCompare(b.user_id);

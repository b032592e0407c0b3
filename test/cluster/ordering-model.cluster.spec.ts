import { afterAll, beforeAll, describe, it } from '@jest/globals';
import fc from 'fast-check';
import { standaloneBackend, type RedisBackend } from '../support/redis-backends.js';
import { type Program, programsArb, runCase } from '../support/ordering-model.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TEST_SECRET } from '../support/tokens.js';

const ROOMS = 2;

/**
 * Counterexamples found before the fix, kept as regular cases: on a cluster, `chat` then `auth`
 * (the auth_success overtook the sender's own chat_message, still on its way back from Redis);
 * a re-`auth` as another user then `presence` (the presence read overtook the presence write
 * that moved the connection to its new user); two connections of one user on one node
 * (presence counted the node once instead of each connection).
 */
const EXAMPLES: [Program[]][] = [
  [
    [
      {
        initial: 'u0',
        commands: [
          { kind: 'join', room: 0 },
          { kind: 'chat', room: 0 },
          { kind: 'auth', user: 'u0' },
        ],
        closeAfter: undefined,
      },
      { initial: undefined, commands: [{ kind: 'resume', room: 0 }], closeAfter: undefined },
    ],
  ],
  [
    [
      {
        initial: 'u0',
        commands: [
          { kind: 'join', room: 1 },
          { kind: 'chat', room: 1 },
          { kind: 'auth', user: 'u1' },
          { kind: 'presence', room: 1 },
        ],
        closeAfter: undefined,
      },
      { initial: 'u2', commands: [{ kind: 'echo' }], closeAfter: undefined },
    ],
  ],
  [
    [
      { initial: 'u0', commands: [{ kind: 'join', room: 0 }], closeAfter: undefined },
      { initial: undefined, commands: [{ kind: 'chat', room: 0 }], closeAfter: undefined },
      {
        initial: 'u0',
        commands: [
          { kind: 'join', room: 0 },
          { kind: 'chat', room: 0 },
          { kind: 'presence', room: 0 },
        ],
        closeAfter: undefined,
      },
    ],
  ],
];

describe('per-connection ordering, model-based: pipelined programs on two nodes sharing Redis (e2e)', () => {
  let backend: RedisBackend;
  const nodes: TestApp[] = [];
  let run = 0;

  beforeAll(async () => {
    backend = await standaloneBackend();
    for (const nodeId of ['node-a', 'node-b']) {
      nodes.push(
        await createTestApp({
          nodeId,
          auth: { secret: TEST_SECRET, required: true },
          rateLimit: false,
          cluster: backend.adapter(`om${process.pid}`),
        }),
      );
    }
  }, 30_000);
  afterAll(async () => {
    for (const node of nodes) await node.close();
    await backend.stop();
  });

  it('every connection gets the model’s frames, listeners on both nodes every accepted chat, and the end state is the model’s', async () => {
    await fc.assert(
      fc.asyncProperty(programsArb(ROOMS), (programs) => runCase(nodes, programs, run++, ROOMS)),
      { numRuns: 40, examples: EXAMPLES },
    );
  }, 180_000);
});

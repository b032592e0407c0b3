import { afterAll, beforeAll, describe, it } from '@jest/globals';
import fc from 'fast-check';
import { type Program, programsArb, runCase } from '../support/ordering-model.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TEST_SECRET } from '../support/tokens.js';

const ROOMS = 2;

/**
 * Counterexamples found before the fix, kept as regular cases: an `auth` that fails, then a
 * `resume` (the resume's AUTH_REQUIRED overtook the auth_error); `auth`, `join_room`, `chat`.
 */
const EXAMPLES: [Program[]][] = [
  [
    [
      {
        initial: undefined,
        commands: [
          { kind: 'auth', user: 'bad' },
          { kind: 'resume', room: 0 },
        ],
        closeAfter: undefined,
      },
      { initial: undefined, commands: [{ kind: 'join', room: 0 }], closeAfter: undefined },
    ],
  ],
  [
    [
      {
        initial: undefined,
        commands: [
          { kind: 'auth', user: 'u0' },
          { kind: 'join', room: 0 },
          { kind: 'chat', room: 0 },
          { kind: 'leave', room: 0 },
        ],
        closeAfter: undefined,
      },
      {
        initial: 'u1',
        commands: [
          { kind: 'join', room: 0 },
          { kind: 'presence', room: 0 },
        ],
        closeAfter: 0,
      },
    ],
  ],
];

describe('per-connection ordering, model-based: pipelined programs on one node (e2e)', () => {
  let node: TestApp;
  let run = 0;

  beforeAll(async () => {
    node = await createTestApp({ nodeId: 'solo', auth: { secret: TEST_SECRET, required: true }, rateLimit: false });
  });
  afterAll(() => node.close());

  it('every connection gets the model’s frames, listeners every accepted chat, and the end state is the model’s', async () => {
    await fc.assert(
      fc.asyncProperty(programsArb(ROOMS), (programs) => runCase([node], programs, run++, ROOMS)),
      { numRuns: 60, examples: EXAMPLES },
    );
  }, 120_000);
});

import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppModule } from '../../sample/app.module.js';
import { loadSampleConfig } from '../../sample/sample.config.js';
import { memberOf, say } from '../support/chat.js';
import { useCleanup } from '../support/cleanup.js';
import { range, seqsOf, trackedResumer } from '../support/resuming-client.js';
import { hsToken } from '../support/tokens.js';
import { until } from '../support/until.js';

const SECRET = 'sample-history-e2e-secret-0123456789abcdef';

/** `HISTORY_SIZE` / `HISTORY_TTL_MS`: how far back a client of the sample can resume (PROTOCOL.md). */
describe('sample app: the history a resume reaches (e2e)', () => {
  let app: INestApplication;
  let url: string;
  const cleanup = useCleanup();

  beforeAll(async () => {
    const config = loadSampleConfig({ JWT_SECRET: SECRET, LOG_LEVEL: 'error', HISTORY_SIZE: '3' });
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = `ws://127.0.0.1:${app.getHttpServer().address().port}/ws`;
  });
  afterAll(() => app.close());

  const tokenOf = (userId: string) => hsToken({ user_id: userId, username: userId, roles: [] }, SECRET);

  it('replays the HISTORY_SIZE messages missed, and answers resume_failed for one more', async () => {
    const ann = await trackedResumer(url, tokenOf('ann'), cleanup);
    await ann.join('lobby');
    const bob = cleanup.track(await memberOf(url, tokenOf('bob'), 'lobby'));

    ann.client.close();
    await say(bob, 'lobby', ['a', 'b', 'c']);
    expect((await ann.reconnect(url)).type).toBe('resumed');
    await until(() => ann.roomFrames('lobby').length === 3);
    expect(seqsOf(ann.roomFrames('lobby'))).toEqual(range(1, 3));
    expect(ann.failures).toEqual([]);

    // The module's default (100) would replay these four too.
    ann.client.close();
    await say(bob, 'lobby', ['d', 'e', 'f', 'g']);
    expect((await ann.reconnect(url)).type).toBe('resumed');
    const failed = await ann.client.next('resume_failed');
    expect(failed.data).toMatchObject({ room_id: 'lobby', reason: 'history_expired', seq: 7 });
    expect(seqsOf(ann.roomFrames('lobby'))).toEqual(range(1, 3));
  });

  it('reads the module defaults when unset, and refuses a TTL of 0 or a non-integer size', () => {
    expect(loadSampleConfig({})).toMatchObject({ historySize: 100, historyTtlMs: 300_000 });
    expect(loadSampleConfig({ HISTORY_SIZE: '0', HISTORY_TTL_MS: '600000' })).toMatchObject({
      historySize: 0,
      historyTtlMs: 600_000,
    });
    expect(() => loadSampleConfig({ HISTORY_TTL_MS: '0' })).toThrow('HISTORY_TTL_MS must be above 0');
    expect(() => loadSampleConfig({ HISTORY_SIZE: '1.5' })).toThrow('HISTORY_SIZE must be a non-negative integer');
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChatMessageData, Envelope } from '../../lib/client/index.js';
import { TestRedis } from '../support/redis-server.js';
import { until } from '../support/until.js';
import { nextEvent, SampleServer } from './sample-server.js';

/**
 * A deploy on a two-node cluster: the node a client is on drains (1012); the client reconnects
 * at once to the other node and resumes there, missing nothing that was said meanwhile.
 */
describe('client failover between two sample nodes on Redis (e2e)', () => {
  let redis: TestRedis;
  let nodeA: SampleServer;
  let nodeB: SampleServer;
  beforeAll(async () => {
    redis = await TestRedis.start();
    [nodeA, nodeB] = await Promise.all([
      SampleServer.start({ REDIS_URL: redis.url, NODE_ID: 'a' }),
      SampleServer.start({ REDIS_URL: redis.url, NODE_ID: 'b' }),
    ]);
  });
  afterAll(async () => {
    await nodeB?.close();
    await redis?.stop();
  });

  it('resumes on the other node after a drain, with every room message once, in order', async () => {
    const urls = [nodeA.url, nodeB.url];
    let attempt = 0;
    // stableConnectionTime 1: ann's connection to node a counts as working, so the drain's 1012
    // reconnects after the drain window (made short here), not the backoff.
    const ann = nodeA.client('ann', {
      url: () => urls[Math.min(attempt++, 1)],
      stableConnectionTime: 1,
      drainReconnect: { minDelay: 0, maxDelay: 0 },
    });
    const bob = nodeB.client('bob');
    try {
      await Promise.all([ann.connect(), bob.connect()]);
      expect(ann.connectionInfo!.node_id).toBe('a');
      await ann.join('deploy');
      await bob.join('deploy');
      const received: Envelope<ChatMessageData>[] = [];
      ann.on('chat_message', (_data, envelope) => received.push(envelope));
      const failures: unknown[] = [];
      ann.onEvent('resume_failed', (event) => failures.push(event));

      const total = 40;
      let sent = 0;
      const talk = async (until: number) => {
        while (sent < until) {
          bob.chat('deploy', `m${++sent}`);
          await new Promise((resolve) => setTimeout(resolve, 3));
        }
      };
      await talk(10);
      const drained = nextEvent(ann, 'reconnecting');
      const reopened = nextEvent(ann, 'open');
      const closing = nodeA.close(); // 1012 to ann, then node a is gone
      await talk(25);
      expect(await drained).toMatchObject({ code: 1012, delay: 0 });
      expect(await reopened).toMatchObject({ node_id: 'b', reconnects: 1 });
      await closing;
      await talk(total);

      // A last message after all the others: once it is in, any duplicate sent before it is in too.
      await bob.chat('deploy', 'marker');
      await until(() => received.some((frame) => frame.data!.content === 'marker'), 5000);
      expect(received.map((frame) => frame.data!.content)).toEqual([
        ...Array.from({ length: total }, (_, i) => `m${i + 1}`),
        'marker',
      ]);
      expect(failures).toEqual([]);
    } finally {
      await Promise.all([ann.disconnect(), bob.disconnect()]);
    }
  });
});

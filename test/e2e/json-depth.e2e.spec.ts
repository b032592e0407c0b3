import { afterEach, describe, expect, it } from '@jest/globals';
import { RealtimeStats } from '../../lib/stats/realtime-stats.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';

/** An `echo` whose `data` is `levels` nested arrays: the envelope is 1 + `levels` deep. */
function nestedEcho(id: string, levels: number): string {
  return `{"type":"echo","id":"${id}","data":${'['.repeat(levels)}${']'.repeat(levels)}}`;
}

describe('JSON nesting depth (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('answers a frame nested deeper than maxJsonDepth (default 32) with BAD_MESSAGE before any handler, and goes on', async () => {
    t = await createTestApp({ rateLimit: false });
    const client = await TestClient.connect(t.url);
    const neighbour = await TestClient.connect(t.url);
    await Promise.all([client.next('connected'), neighbour.next('connected')]);

    client.sendRaw(nestedEcho('deep', 10_000));
    const refused = await client.next();
    expect(refused).toMatchObject({
      type: 'error',
      data: { code: 'BAD_MESSAGE', message: 'message nests deeper than 32 levels' },
    });
    // The limit is exact: 32 levels in all pass, 33 do not.
    client.sendRaw(nestedEcho('at-limit', 31));
    expect(await client.next()).toMatchObject({ type: 'echo_response', id: 'at-limit' });
    client.sendRaw(nestedEcho('one-more', 32));
    expect((await client.next()).data).toEqual({ code: 'BAD_MESSAGE', message: 'message nests deeper than 32 levels' });

    // Nothing else happened to either connection.
    expect((await client.request({ type: 'echo', id: 'after', data: 1 })).type).toBe('echo_response');
    expect((await neighbour.request({ type: 'echo', id: 'n', data: 2 })).type).toBe('echo_response');
    expect(t.app.get(RealtimeStats).receivedByType.get('invalid')).toBe(2);
    await Promise.all([client.close(), neighbour.close()]);
  });

  it('takes maxJsonDepth from the options', async () => {
    t = await createTestApp({ maxJsonDepth: 3, rateLimit: false });
    const client = await TestClient.connect(t.url);
    await client.next('connected');
    client.sendRaw(nestedEcho('ok', 2));
    expect(await client.next()).toMatchObject({ type: 'echo_response', id: 'ok', data: [[]] });
    client.sendRaw(nestedEcho('deep', 3));
    expect((await client.next()).data).toEqual({ code: 'BAD_MESSAGE', message: 'message nests deeper than 3 levels' });
    await client.close();
  });
});

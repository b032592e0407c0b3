import { afterEach, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';

describe('gateway (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('sends connected first, then answers echo with the same id and data', async () => {
    t = await createTestApp({ nodeId: 'node-a', pingInterval: 1000, pongTimeout: 2000 });
    const client = await TestClient.connect(t.url);
    const connected = await client.next();
    expect(connected.type).toBe('connected');
    expect(connected.data).toEqual({
      client_id: expect.any(String),
      session_id: expect.any(String),
      node_id: 'node-a',
      heartbeat_ms: 1000,
    });
    expect(Date.parse(connected.timestamp!)).not.toBeNaN();
    const reply = await client.request({ type: 'echo', id: 'c-17', data: { hello: [1, 2] } });
    expect(reply).toEqual({ type: 'echo_response', id: 'c-17', data: { hello: [1, 2] }, timestamp: expect.any(String) });
    await client.close();
  });
});

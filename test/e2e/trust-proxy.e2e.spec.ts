import { afterEach, describe, expect, it } from '@jest/globals';
import { RealtimeServer } from '../../lib/server/realtime.server.js';
import { SampleServer } from '../client/sample-server.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient, upgradeStatus } from '../support/test-client.js';

/**
 * `trustProxy`: behind a load balancer every TCP peer is the balancer; the client is named in
 * `X-Forwarded-For`, but only trusted hops may name it.
 */
describe('trustProxy and maxConnectionsPerAddress', () => {
  let t: TestApp | undefined;
  const open: TestClient[] = [];

  afterEach(async () => {
    for (const client of open.splice(0)) client.close();
    await t?.close();
    t = undefined;
  });

  async function connectAs(forwardedFor: string | undefined): Promise<TestClient> {
    const headers: Record<string, string> = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
    const client = await TestClient.connect(t!.url, { headers });
    open.push(client);
    await client.next('connected');
    return client;
  }

  function status(forwardedFor: string): Promise<number> {
    return upgradeStatus(t!.url, { headers: { 'x-forwarded-for': forwardedFor } });
  }

  function addresses(): string[] {
    return [...t!.app.get(RealtimeServer).connectionsPerAddress().keys()].sort();
  }

  it('counts each forwarded client separately behind a trusted loopback proxy', async () => {
    t = await createTestApp({ maxConnectionsPerAddress: 2, trustProxy: 'loopback' });
    await connectAs('203.0.113.5');
    await connectAs('203.0.113.5');
    expect(await status('203.0.113.5')).toBe(429);
    // Another client behind the same proxy is not held back by the first one's limit.
    await connectAs('198.51.100.7');
    expect(addresses()).toEqual(['198.51.100.7', '203.0.113.5']);
  });

  it('takes the nearest untrusted hop, so a client cannot pick its own address', async () => {
    t = await createTestApp({ maxConnectionsPerAddress: 1, trustProxy: 1 });
    // The proxy (the loopback peer, one hop) appended the real client, 198.51.100.7; the
    // entries to its left were written by the client.
    await connectAs('10.9.9.9, 198.51.100.7');
    expect(await status('10.9.9.8, 198.51.100.7')).toBe(429);
    expect(addresses()).toEqual(['198.51.100.7']);
  });

  it('ignores X-Forwarded-For unless a proxy is trusted', async () => {
    t = await createTestApp({ maxConnectionsPerAddress: 2 });
    await connectAs('203.0.113.5');
    await connectAs('198.51.100.7');
    expect(await status('192.0.2.1')).toBe(429);
    expect(addresses()).toEqual(['127.0.0.1']);
  });

  it('gives a slot back when a forwarded client leaves', async () => {
    t = await createTestApp({ maxConnectionsPerAddress: 1, trustProxy: ['127.0.0.1/8'] });
    const first = await connectAs('203.0.113.5');
    expect(await status('203.0.113.5')).toBe(429);
    first.close();
    await first.closed;
    await connectAs('203.0.113.5');
    expect(addresses()).toEqual(['203.0.113.5']);
  });

  it('refuses a trustProxy it cannot parse at start-up', async () => {
    await expect(createTestApp({ trustProxy: ['not-an-address'] })).rejects.toThrow(/trustProxy/);
  });
});

describe('the sample behind a proxy (TRUST_PROXY, MAX_CONNECTIONS_PER_ADDRESS)', () => {
  it('limits each forwarded client, not the proxy', async () => {
    const sample = await SampleServer.start({ TRUST_PROXY: 'loopback', MAX_CONNECTIONS_PER_ADDRESS: '1' });
    try {
      const status = (address: string) =>
        upgradeStatus(`${sample.url}?token=${sample.token('bob')}`, { headers: { 'x-forwarded-for': address } });
      const held = await TestClient.connect(`${sample.url}?token=${sample.token('ann')}`, {
        headers: { 'x-forwarded-for': '203.0.113.5' },
      });
      await held.next('auth_success');
      expect(await status('203.0.113.5')).toBe(429);
      expect(await status('198.51.100.7')).toBe(101);
      held.close();
    } finally {
      await sample.app.close();
    }
  });
});

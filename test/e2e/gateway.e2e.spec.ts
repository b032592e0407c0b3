import { afterEach, describe, expect, it } from '@jest/globals';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient, upgradeStatus } from '../support/test-client.js';

describe('gateway: envelope, codec and limits (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  async function connect(options = {}): Promise<TestClient> {
    t ??= await createTestApp({ nodeId: 'node-a', pingInterval: 1000, pongTimeout: 2000, ...options });
    const client = await TestClient.connect(t.url);
    expect((await client.next()).type).toBe('connected');
    return client;
  }

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
    expect(reply).toEqual({
      type: 'echo_response',
      id: 'c-17',
      data: { hello: [1, 2] },
      timestamp: expect.any(String),
    });
    await client.close();
  });

  it('answers ping with pong, and echo without data', async () => {
    const client = await connect();
    expect(await client.request({ type: 'ping', id: 'p1' })).toEqual({
      type: 'pong',
      id: 'p1',
      timestamp: expect.any(String),
    });
    expect(await client.request({ type: 'echo', id: 7 } as never)).toMatchObject({ type: 'echo_response', id: 7 });
  });

  it.each([
    ['not JSON', '{"type": "echo"', 'message is not valid JSON'],
    ['an array', '[1,2]', 'message must be a JSON object'],
    ['a string', '"echo"', 'message must be a JSON object'],
    ['null', 'null', 'message must be a JSON object'],
    ['missing type', '{"data":1}', '"type" must be 1..64 characters of [A-Za-z0-9_.:-]'],
    ['type with spaces', '{"type":"a b"}', '"type" must be 1..64 characters of [A-Za-z0-9_.:-]'],
    ['type too long', JSON.stringify({ type: 'x'.repeat(65) }), '"type" must be 1..64 characters of [A-Za-z0-9_.:-]'],
    ['numeric room', '{"type":"echo","room":5}', '"room" must be a string'],
    ['array metadata', '{"type":"echo","metadata":[]}', '"metadata" must be an object'],
  ])('answers %s with BAD_MESSAGE and keeps the connection', async (_name, raw, message) => {
    const client = await connect();
    client.sendRaw(raw);
    const error = await client.next();
    expect(error.type).toBe('error');
    expect(error.data).toEqual({ code: 'BAD_MESSAGE', message });
    expect(await client.request({ type: 'echo', id: 'after', data: 1 })).toMatchObject({
      type: 'echo_response',
      data: 1,
    });
  });

  it('repeats the id on BAD_MESSAGE when the id was readable', async () => {
    const client = await connect();
    client.sendRaw('{"id":"r1","type":""}');
    expect(await client.next()).toMatchObject({ type: 'error', id: 'r1', data: { code: 'BAD_MESSAGE' } });
    client.sendRaw(JSON.stringify({ id: 'x'.repeat(129), type: 'echo' }));
    const error = await client.next();
    expect(error.data.code).toBe('BAD_MESSAGE');
    expect(error.id).toBeUndefined();
  });

  it('answers an unknown type with UNKNOWN_TYPE carrying the id', async () => {
    const client = await connect();
    expect(await client.request({ type: 'no.such.type', id: 'u1' })).toEqual({
      type: 'error',
      id: 'u1',
      data: { code: 'UNKNOWN_TYPE', message: 'unknown message type "no.such.type"' },
      timestamp: expect.any(String),
    });
  });

  it('closes with 1009 on a frame above maxMessageSize, without affecting others', async () => {
    const client = await connect({ maxMessageSize: 1024 });
    const bystander = await TestClient.connect(t!.url);
    await bystander.next('connected');
    client.sendRaw(JSON.stringify({ type: 'echo', data: 'x'.repeat(1100) }));
    expect((await client.closed).code).toBe(1009);
    expect(await bystander.request({ type: 'echo', id: 'b', data: 'x'.repeat(900) })).toMatchObject({
      type: 'echo_response',
    });
  });

  it('accepts a frame of exactly maxMessageSize bytes', async () => {
    const client = await connect({ maxMessageSize: 1024 });
    const frame = JSON.stringify({ type: 'echo', id: 'edge', data: '' });
    const padded = JSON.stringify({ type: 'echo', id: 'edge', data: 'y'.repeat(1024 - frame.length) });
    expect(Buffer.byteLength(padded)).toBe(1024);
    client.sendRaw(padded);
    expect((await client.next('echo_response')).id).toBe('edge');
  });

  it('closes with 1003 on a binary frame', async () => {
    const client = await connect();
    client.sendRaw(Buffer.from('{"type":"echo"}'), true);
    expect(await client.closed).toEqual({ code: 1003, reason: 'binary frames are not supported' });
  });

  it('closes with 1007 on a text frame that is not UTF-8', async () => {
    const client = await connect();
    client.sendRaw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), false);
    expect((await client.closed).code).toBe(1007);
  });

  it('answers 404 to an upgrade on another path when it is the only upgrade listener', async () => {
    t = await createTestApp();
    expect(await upgradeStatus(t.url.replace('/ws', '/other'))).toBe(404);
  });

  it('serves a custom path', async () => {
    t = await createTestApp({ path: '/realtime' });
    expect(t.url.endsWith('/realtime')).toBe(true);
    const client = await TestClient.connect(t.url);
    expect((await client.next()).type).toBe('connected');
  });
});

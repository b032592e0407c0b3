import { describe, expect, it } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import {
  DEFAULT_OPTIONS,
  InvalidRealtimeOptionError,
  resolveRealtimeOptions,
} from '../../../lib/options/resolve-options.js';

const request = {} as IncomingMessage;

describe('resolveRealtimeOptions', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveRealtimeOptions();
    expect(resolved).toMatchObject({
      path: '/ws',
      maxConnections: 10_000,
      maxMessageSize: 1_048_576,
      pingInterval: 25_000,
      pongTimeout: 20_000,
      writeDelay: 0,
      handshakeTimeout: 10_000,
      drainDelay: 0,
      drainSpread: 0,
      builtins: { echo: true, ping: true },
    });
    expect(resolved).toMatchObject(DEFAULT_OPTIONS);
    expect(resolved.nodeId).toMatch(/^[0-9a-f]{12}$/);
    expect(resolved.allowedOrigins).toBeUndefined();
    expect(resolved.tracing).toBe(true);
    expect(resolveRealtimeOptions({ tracing: false }).tracing).toBe(false);
  });

  it('accepts a pongTimeout at, below or above pingInterval: the pong deadline counts from its ping', () => {
    for (const [pingInterval, pongTimeout] of [
      [30_000, 10_000],
      [20_000, 20_000],
      [5_000, 60_000],
    ]) {
      expect(resolveRealtimeOptions({ pingInterval, pongTimeout })).toMatchObject({ pingInterval, pongTimeout });
    }
  });

  it.each([
    [{ maxMessageSize: -1 }, 'maxMessageSize', 'must be at least 1 (got -1)'],
    [{ readBufferSize: 0 }, 'readBufferSize', 'must be at least 1 (got 0)'],
    [{ writeBufferSize: 1.5 }, 'writeBufferSize', 'must be an integer (got 1.5)'],
    [{ maxConnections: '10' as unknown as number }, 'maxConnections', 'must be an integer (got 10)'],
    [{ writeTimeout: -5 }, 'writeTimeout', 'must be at least 0 (got -5)'],
    [{ pongTimeout: 2 ** 31 }, 'pongTimeout', 'must be at most 2147483647 ms'],
    [{ drainDelay: -1 }, 'drainDelay', 'must be at least 0 (got -1)'],
    [{ drainDelay: 2 ** 31 }, 'drainDelay', 'must be at most 2147483647 ms'],
    [{ drainSpread: -1 }, 'drainSpread', 'must be at least 0 (got -1)'],
    [{ drainSpread: 1.5 }, 'drainSpread', 'must be an integer (got 1.5)'],
    [{ drainSpread: 2 ** 31 }, 'drainSpread', 'must be at most 2147483647 ms'],
    [{ readTimeout: 1000 }, 'readTimeout', 'must be 0 (off) or above pingInterval'],
    [{ writeDelay: -1 }, 'writeDelay', 'must be at least 0 (got -1)'],
    [{ writeDelay: 2.5 }, 'writeDelay', 'must be an integer (got 2.5)'],
    [{ writeDelay: 1001 }, 'writeDelay', 'must be at most 1000 ms (got 1001)'],
    [{ path: 'ws' }, 'path', 'must be a URL path starting with "/"'],
    [{ path: '/ws?x=1' }, 'path', 'must be a URL path'],
    [{ nodeId: 'has space' }, 'nodeId', 'must be 1..64 characters'],
    [{ allowedOrigins: ['ok', ''] }, 'allowedOrigins', 'must be an array of non-empty origin strings'],
    [{ tracing: 'off' as unknown as boolean }, 'tracing', 'must be a boolean (got off)'],
  ])('rejects %j naming %s', (options, name, problem) => {
    let thrown: unknown;
    try {
      resolveRealtimeOptions(options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidRealtimeOptionError);
    expect((thrown as Error).message).toContain(`RealtimeModule option "${name}" ${problem}`);
  });

  it.each([
    [{ auth: { secret: 's', publicKey: 'k' } }, 'auth', 'takes either "secret" (HS256) or "publicKey"'],
    [{ auth: { secret: '' } }, 'auth.secret', 'must be a non-empty string or Buffer'],
    [
      { auth: { secret: 's', algorithms: ['RS256'] } },
      'auth.algorithms',
      'contains RS256, which cannot be used with "secret"',
    ],
    [
      { auth: { publicKey: 'k', algorithms: ['HS256'] } },
      'auth.algorithms',
      'contains HS256, which cannot be used with "publicKey"',
    ],
    [{ auth: { secret: 's', algorithms: [] } }, 'auth.algorithms', 'must be a non-empty array'],
    [{ auth: { secret: 's', expiryGracePeriod: -1 } }, 'auth.expiryGracePeriod', 'must be at least 0'],
    [{ rateLimit: { burst: 0 } }, 'rateLimit.burst', 'must be at least 1'],
    [{ rateLimit: { messagesPerSecond: 0.5 } }, 'rateLimit.messagesPerSecond', 'must be an integer'],
    [{ maxConnectionsPerUser: -1 }, 'maxConnectionsPerUser', 'must be at least 0'],
    [{ connectionGuards: [42] }, 'connectionGuards', 'must be an array of guard classes or guard instances'],
  ] as const)('rejects auth and abuse settings %j naming %s', (options, name, problem) => {
    expect(() => resolveRealtimeOptions(options as never)).toThrow(`RealtimeModule option "${name}" ${problem}`);
  });

  it('defaults auth and rate limiting', () => {
    const resolved = resolveRealtimeOptions({ auth: { secret: 'x' } });
    expect(resolved.auth).toMatchObject({
      algorithms: ['HS256'],
      required: true,
      requireExpiration: true,
      expiryGracePeriod: 30_000,
    });
    expect(resolveRealtimeOptions({ auth: { publicKey: 'k' } }).auth?.algorithms).toEqual(['RS256', 'ES256']);
    expect(resolved.rateLimit).toEqual({
      messagesPerSecond: 100,
      burst: 200,
      disconnectAfter: 100,
      bytesPerSecond: 1_048_576,
      byteBurst: 2_097_152,
    });
    expect(resolveRealtimeOptions({ rateLimit: false }).rateLimit).toBeUndefined();
    expect(resolved.maxJsonDepth).toBe(32);
    expect(resolveRealtimeOptions().auth).toBeUndefined();
  });

  it('sizes the byte burst from maxMessageSize unless given, and refuses one a largest frame cannot pass', () => {
    expect(resolveRealtimeOptions({ maxMessageSize: 4096 }).rateLimit).toMatchObject({ byteBurst: 8192 });
    expect(
      resolveRealtimeOptions({ maxMessageSize: 4096, rateLimit: { byteBurst: 5000, bytesPerSecond: 10 } }).rateLimit,
    ).toMatchObject({
      byteBurst: 5000,
      bytesPerSecond: 10,
    });
    expect(() => resolveRealtimeOptions({ maxMessageSize: 4096, rateLimit: { byteBurst: 4095 } })).toThrow(
      'RealtimeModule option "rateLimit.byteBurst" must be at least maxMessageSize (4096)',
    );
    // With the byte limit off, the bucket size does not matter.
    expect(
      resolveRealtimeOptions({ maxMessageSize: 4096, rateLimit: { bytesPerSecond: 0, byteBurst: 1 } }).rateLimit,
    ).toMatchObject({ bytesPerSecond: 0 });
    expect(() => resolveRealtimeOptions({ rateLimit: { bytesPerSecond: -1 } })).toThrow(
      'RealtimeModule option "rateLimit.bytesPerSecond" must be at least 0',
    );
    expect(() => resolveRealtimeOptions({ maxJsonDepth: 0 })).toThrow(
      'RealtimeModule option "maxJsonDepth" must be at least 1',
    );
  });

  it('accepts 0 to switch the optional timeouts off', () => {
    const resolved = resolveRealtimeOptions({ readTimeout: 0, writeTimeout: 0, connectionTimeout: 0 });
    expect([resolved.readTimeout, resolved.writeTimeout, resolved.connectionTimeout]).toEqual([0, 0, 0]);
  });

  it('turns an allow-list into a predicate that ignores case and a trailing slash', () => {
    const { allowedOrigins } = resolveRealtimeOptions({ allowedOrigins: ['https://App.example.com/'] });
    expect(allowedOrigins!('https://app.example.com', request)).toBe(true);
    expect(allowedOrigins!('https://app.example.com.evil.test', request)).toBe(false);
    expect(allowedOrigins!('http://app.example.com', request)).toBe(false);
    expect(allowedOrigins!(undefined, request)).toBe(true);
  });

  it("treats '*' as any origin", () => {
    expect(resolveRealtimeOptions({ allowedOrigins: ['*'] }).allowedOrigins).toBeUndefined();
  });
});

describe('history and resume bounds', () => {
  it('defaults the node budget, replay limits, per-room byte cap and resume room limit', () => {
    const resolved = resolveRealtimeOptions();
    expect(resolved.history).toEqual({
      maxBytes: 64 * 1024 * 1024,
      maxConcurrentReplays: 16,
      replayChunkBytes: 256 * 1024,
    });
    expect(resolved.resume).toEqual({ maxRooms: 100 });
    expect(resolved.rooms('any')).toMatchObject({ historyMaxBytes: 1024 * 1024, historyWithoutMembers: false });
  });

  it('never lets a resume name more rooms than a connection may be in', () => {
    expect(resolveRealtimeOptions({ maxRoomsPerConnection: 20 }).resume.maxRooms).toBe(20);
    expect(resolveRealtimeOptions({ maxRoomsPerConnection: 20, resume: { maxRooms: 5 } }).resume.maxRooms).toBe(5);
  });

  it.each([
    [{ history: { maxBytes: 0 } }, 'history.maxBytes', 'must be at least 1'],
    [{ history: { maxConcurrentReplays: 0 } }, 'history.maxConcurrentReplays', 'must be at least 1'],
    [{ history: { replayChunkBytes: 512 } }, 'history.replayChunkBytes', 'must be at least 1024'],
    [{ history: 5 }, 'history', 'must be an object'],
    [{ resume: { maxRooms: 0 } }, 'resume.maxRooms', 'must be at least 1'],
    [{ rooms: { historyMaxBytes: 0 } }, 'rooms.historyMaxBytes', 'must be at least 1'],
    [{ rooms: { historyWithoutMembers: 'yes' } }, 'rooms.historyWithoutMembers', 'must be a boolean'],
  ] as const)('rejects %j naming %s', (options, name, problem) => {
    expect(() => resolveRealtimeOptions(options as never)).toThrow(`RealtimeModule option "${name}" ${problem}`);
  });
});

describe('compression', () => {
  it('is off by default, and true turns it on with the defaults', () => {
    expect(resolveRealtimeOptions().compression).toEqual({ enabled: false, threshold: 1024, level: 6 });
    expect(resolveRealtimeOptions({ compression: true }).compression).toEqual({
      enabled: true,
      threshold: 1024,
      level: 6,
    });
    expect(resolveRealtimeOptions({ compression: { enabled: true, threshold: 0, level: 1 } }).compression).toEqual({
      enabled: true,
      threshold: 0,
      level: 1,
    });
    // An object is settings: `enabled` still defaults to false.
    expect(resolveRealtimeOptions({ compression: { level: 9 } }).compression.enabled).toBe(false);
  });

  it.each([
    [{ compression: 'on' }, 'compression', 'must be a boolean or an object'],
    [{ compression: { enabled: 1 } }, 'compression.enabled', 'must be a boolean (got 1)'],
    [{ compression: { threshold: -1 } }, 'compression.threshold', 'must be at least 0'],
    [{ compression: { level: 0 } }, 'compression.level', 'must be at least 1'],
    [{ compression: { level: 10 } }, 'compression.level', 'must be at most 9 (got 10)'],
    [{ compression: { level: 2.5 } }, 'compression.level', 'must be an integer'],
  ] as const)('rejects %j naming %s', (options, name, problem) => {
    expect(() => resolveRealtimeOptions(options as never)).toThrow(`RealtimeModule option "${name}" ${problem}`);
  });
});

import { createServer, type IncomingMessage } from 'node:http';
import { describe, expect, it, jest } from '@jest/globals';
import { claimUpgradePath } from '../../../lib/server/upgrade-claim.js';

const upgrade = (url: string) => [{ url } as IncomingMessage, {}, Buffer.alloc(0)] as const;

describe('claimUpgradePath', () => {
  it('hands upgrades for the claimed path to its handler only, with or without a query', () => {
    const server = createServer();
    const listener = jest.fn();
    server.on('upgrade', listener);
    const handler = jest.fn();
    claimUpgradePath(server, '/ws', handler);
    expect(server.emit('upgrade', ...upgrade('/ws'))).toBe(true);
    expect(server.emit('upgrade', ...upgrade('/ws?token=t'))).toBe(true);
    expect(handler).toHaveBeenCalledTimes(2);
    expect(listener).not.toHaveBeenCalled();
    server.emit('upgrade', ...upgrade('/legacy'));
    server.emit('upgrade', ...upgrade('/ws/more'));
    expect(listener).toHaveBeenCalledTimes(2);
    expect(handler).toHaveBeenCalledTimes(2);
  });

  it('leaves other events alone', () => {
    const server = createServer();
    claimUpgradePath(server, '/ws', jest.fn());
    const onRequest = jest.fn();
    server.on('request', onRequest);
    server.emit('request', 'req', 'res');
    expect(onRequest).toHaveBeenCalledWith('req', 'res');
  });

  it('serves several paths on one server, refuses the same path twice, and restores emit after the last release', () => {
    const server = createServer();
    const ws = jest.fn();
    const other = jest.fn();
    const releaseWs = claimUpgradePath(server, '/ws', ws);
    const releaseOther = claimUpgradePath(server, '/other', other);
    expect(() => claimUpgradePath(server, '/ws', jest.fn())).toThrow('already claimed');
    server.emit('upgrade', ...upgrade('/other'));
    expect(other).toHaveBeenCalledTimes(1);
    releaseWs();
    releaseWs(); // twice is harmless
    expect(Object.hasOwn(server, 'emit')).toBe(true);
    const listener = jest.fn();
    server.on('upgrade', listener);
    server.emit('upgrade', ...upgrade('/ws'));
    expect(listener).toHaveBeenCalledTimes(1);
    releaseOther();
    expect(Object.hasOwn(server, 'emit')).toBe(false);
  });

  it('keeps working, and keeps a later wrapper, when someone wraps emit after the claim', () => {
    const server = createServer();
    const handler = jest.fn();
    const release = claimUpgradePath(server, '/ws', handler);
    const ours = server.emit;
    const seen: (string | symbol)[] = [];
    server.emit = function (this: typeof server, event: string | symbol, ...args: unknown[]) {
      seen.push(event);
      return Reflect.apply(ours, this, [event, ...args]) as boolean;
    } as typeof server.emit;
    const theirs = server.emit;
    server.emit('upgrade', ...upgrade('/ws'));
    expect(handler).toHaveBeenCalledTimes(1);
    expect(seen).toEqual(['upgrade']);
    release();
    expect(server.emit).toBe(theirs);
    server.emit('upgrade', ...upgrade('/ws'));
    expect(handler).toHaveBeenCalledTimes(1);
    // Claimable again through the wrapper left in place.
    const again = jest.fn();
    claimUpgradePath(server, '/ws', again);
    server.emit('upgrade', ...upgrade('/ws'));
    expect(again).toHaveBeenCalledTimes(1);
  });
});

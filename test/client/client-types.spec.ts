import { describe, expect, it } from '@jest/globals';
import type { ChatMessageData, RealtimeClient, Reply, RoomJoinedData, RoomLeftData } from '../../lib/client/index.js';

/**
 * Type-level checks of the client's public signatures: this file fails `tsc` (`npm run lint`)
 * when they drift; at run time it only checks that it was compiled.
 */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

describe('client typings', () => {
  it('request<T>() resolves with a reply whose data is T, not T | undefined', () => {
    expectType<Equals<Awaited<ReturnType<RealtimeClient['request']>>, Reply<unknown>>>();
    expectType<Equals<Reply<{ n: number }>['data'], { n: number }>>();
    // The generic parameter reaches the reply: a call site reads `data` without `!` or a cast.
    const _typed = (client: RealtimeClient) => client.request<{ n: number }>('echo', { n: 1 });
    expectType<Equals<Awaited<ReturnType<typeof _typed>>['data'], { n: number }>>();
    expectType<Equals<Awaited<ReturnType<typeof _typed>>['data']['n'], number>>();
    // @ts-expect-error — data is required on a reply
    const missing: Reply<{ n: number }> = { type: 'echo_response' };
    expect(missing).toBeDefined();
  });

  it('join, leave and chat resolve with their payloads', () => {
    expectType<Equals<Awaited<ReturnType<RealtimeClient['join']>>, RoomJoinedData>>();
    expectType<Equals<Awaited<ReturnType<RealtimeClient['leave']>>, RoomLeftData>>();
    expectType<Equals<ReturnType<RealtimeClient['chat']>, Promise<void>>>();
    const onChat = (client: RealtimeClient) =>
      client.on('chat_message', (_message) => expectType<Equals<typeof _message, ChatMessageData>>());
    expect(onChat).toBeInstanceOf(Function);
  });
});

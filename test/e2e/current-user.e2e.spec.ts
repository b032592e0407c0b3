import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type CallHandler, Injectable, type NestInterceptor, UseInterceptors } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { CurrentUser, MessageData, OnMessage, type RealtimeUser } from '../../lib/index.js';
import { MessageHandlerRegistry } from '../../lib/discovery/message-handler.registry.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient } from '../support/test-client.js';
import { hsToken, TEST_SECRET } from '../support/tokens.js';

@Injectable()
class PassThrough implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

@Injectable()
class ProfileHandlers {
  /** Called directly (nothing attached): `user` is a RealtimeUser, no `!` needed. */
  @OnMessage('profile', { reply: 'profile' })
  profile(@CurrentUser() user: RealtimeUser): { id: string; roles: readonly string[] } {
    return { id: user.id, roles: user.roles };
  }

  /** Through Nest's pipeline, with one property and the message data next to it. */
  @OnMessage('greet', { reply: 'greeting' })
  @UseInterceptors(PassThrough)
  greet(@MessageData('text') text: string, @CurrentUser('username') username: string): string {
    return `${text}, ${username.toUpperCase()}`;
  }
}

describe('@CurrentUser() (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // auth.required: false lets anonymous messages reach the handlers, so @CurrentUser itself refuses.
    t = await createTestApp({ auth: { secret: TEST_SECRET, required: false } }, { providers: [ProfileHandlers] });
  });
  afterAll(() => t.close());

  async function client(token?: string): Promise<TestClient> {
    const c = await TestClient.connect(token ? `${t.url}?token=${token}` : t.url);
    await c.next('connected');
    if (token) await c.next('auth_success');
    return c;
  }

  it('gives the authenticated user to the handler, called directly or through the pipeline', async () => {
    expect(t.app.get(MessageHandlerRegistry).get('profile')?.direct).toBe(true);
    expect(t.app.get(MessageHandlerRegistry).get('greet')?.direct).toBe(false);
    const ann = await client(hsToken({ sub: 42, username: 'ann', roles: 'editor' }));
    expect((await ann.request({ type: 'profile', id: 'p' })).data).toEqual({ id: '42', roles: ['editor'] });
    expect((await ann.request({ type: 'greet', id: 'g', data: { text: 'hello' } })).data).toBe('hello, ANN');
    await ann.close();
  });

  it('refuses an unauthenticated connection with AUTH_REQUIRED instead of calling the handler', async () => {
    const anonymous = await client();
    for (const type of ['profile', 'greet']) {
      expect(await anonymous.request({ type, id: `a-${type}`, data: { text: 'hi' } })).toEqual({
        type: 'error',
        id: `a-${type}`,
        data: { code: 'AUTH_REQUIRED', message: 'authentication required' },
        timestamp: expect.any(String),
      });
    }
    await anonymous.close();
  });
});

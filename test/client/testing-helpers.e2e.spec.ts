import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { RealtimeRequestError } from '../../lib/client/index.js';
import {
  connectTestClient,
  createRealtimeTestingApp,
  type RealtimeTestingApp,
  TestTokenUnavailableError,
} from '../../lib/testing/index.js';
import { AppModule } from '../../sample/app.module.js';
import { loadSampleConfig } from '../../sample/sample.config.js';
import { createTestApp } from '../support/test-app.js';
import { hsToken } from '../support/tokens.js';

const SECRET = 'testing-helpers-secret-0123456789';
const config = loadSampleConfig({ JWT_SECRET: SECRET, LOG_LEVEL: 'error' });

describe('nest-realtime/testing', () => {
  let t: RealtimeTestingApp;
  beforeAll(async () => {
    t = await createRealtimeTestingApp({ imports: [AppModule.register(config)] });
  });
  afterAll(() => t.close());

  it('gives a connected, authenticated client in one call, with expectMessage waits', async () => {
    const ann = await t.connect({ user: { id: 'ann', username: 'Ann' } });
    const bob = await t.connect({ user: { id: 'bob' } });
    expect(ann.client.user).toEqual({ user_id: 'ann', username: 'Ann', roles: [] });
    expect((await ann.expectMessage('auth_success')).data!.user_id).toBe('ann');

    await ann.join('general');
    await bob.join('general');
    // Expectations need not follow arrival order: each frame type is waited for on its own.
    const diff = ann.expectMessage('presence_diff');
    bob.client.chat('general', 'hi ann');
    const chat = await ann.expectMessage('chat_message', { where: (data) => data.content === 'hi ann' });
    expect(chat).toMatchObject({ room: 'general', seq: 1, data: { user_id: 'bob', content: 'hi ann' } });
    expect((await diff).data!.joins).toEqual([{ user_id: 'bob', username: 'bob' }]);
    await ann.expectNoMessage('chat_message', 50);
    await expect(ann.expectMessage('announcement', { timeout: 30 })).rejects.toThrow(
      /expected a "announcement" frame within 30 ms; received: connected, auth_success/,
    );

    const response = await fetch(`${t.httpUrl}/rooms`, {
      headers: { authorization: `Bearer ${hsToken({ user_id: 'ann' }, SECRET)}` },
    });
    expect(await response.json()).toEqual([{ id: 'general', client_count: 2, metadata: {} }]);
  });

  it('connects to an app built with @nestjs/testing directly, starting it on a free port', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      const anonymous = await connectTestClient(app);
      expect(anonymous.client.user).toBeUndefined();
      await expect(anonymous.client.request('echo', 1)).rejects.toBeInstanceOf(RealtimeRequestError);
      await anonymous.disconnect();
      const refused = connectTestClient(app, { token: 'not-a-jwt' });
      await expect(refused).rejects.toThrow(/authentication failed/);
    } finally {
      await app.close();
    }
  });

  it('closes the app when configure or the start throws', async () => {
    let destroyed = 0;
    let failBootstrap = false;
    @Injectable()
    class Probe implements OnModuleDestroy, OnApplicationBootstrap {
      onApplicationBootstrap(): void {
        if (failBootstrap) throw new Error('bootstrap failed');
      }
      onModuleDestroy(): void {
        destroyed++;
      }
    }
    const metadata = { imports: [AppModule.register(config)], providers: [Probe] };
    await expect(
      createRealtimeTestingApp(metadata, () => {
        throw new Error('configure failed');
      }),
    ).rejects.toThrow('configure failed');
    expect(destroyed).toBe(1);
    failBootstrap = true; // listen() → init() throws
    await expect(createRealtimeTestingApp(metadata)).rejects.toThrow('bootstrap failed');
    expect(destroyed).toBe(2);
  });

  it('says how to authenticate when the app has no secret to sign test tokens with', async () => {
    const app = await createTestApp();
    try {
      await expect(connectTestClient(app.app, { user: { id: 'x' } })).rejects.toBeInstanceOf(TestTokenUnavailableError);
    } finally {
      await app.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AppModule } from '../../sample/app.module.js';
import { DevLoginController } from '../../sample/dev/dev-login.controller.js';
import { loadSampleConfig } from '../../sample/sample.config.js';
import { upgradeStatus } from '../support/test-client.js';
import { hsToken } from '../support/tokens.js';
import { SampleServer } from './sample-server.js';

describe('the sample configuration', () => {
  it('refuses to start in production without JWT_SECRET, or with DEV_LOGIN=1', () => {
    expect(() => loadSampleConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
    expect(loadSampleConfig({}).authTimeoutMs).toBe(10_000);
    expect(loadSampleConfig({ AUTH_TIMEOUT_MS: '2500' }).authTimeoutMs).toBe(2500);
    expect(loadSampleConfig({}).trustProxy).toBeUndefined();
    expect(loadSampleConfig({ TRUST_PROXY: 'false' }).trustProxy).toBeUndefined();
    expect(loadSampleConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadSampleConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadSampleConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toBe('loopback, 10.0.0.0/8');
    expect(loadSampleConfig({}).httpHeadersTimeoutMs).toBe(10_000);
    expect(() => loadSampleConfig({ NODE_ENV: 'production', JWT_SECRET: 's', DEV_LOGIN: '1' })).toThrow(/DEV_LOGIN=1/);
    // Production done right: a real secret, no dev login.
    expect(loadSampleConfig({ NODE_ENV: 'production', JWT_SECRET: 's' })).toMatchObject({
      jwtSecret: 's',
      devLogin: false,
    });
  });

  it('refuses a hand-made production config with dev login, and keeps the developer default', () => {
    const developer = loadSampleConfig({}); // npm run start:sample with nothing set
    expect(developer).toMatchObject({ jwtSecret: undefined, devLogin: true });
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      expect(() => AppModule.register(developer)).toThrow(/NODE_ENV=production/);
    } finally {
      process.env.NODE_ENV = nodeEnv;
    }
    expect(AppModule.register(developer).controllers).toContain(DevLoginController);
  });
});

describe('the sample without JWT_SECRET (e2e)', () => {
  it('signs with a random secret of its own: the once-public development secret and another node’s tokens are refused', async () => {
    const [a, b] = await Promise.all([SampleServer.start({ JWT_SECRET: '' }), SampleServer.start({ JWT_SECRET: '' })]);
    try {
      const login = async (server: SampleServer): Promise<string> => {
        const response = await fetch(`${server.http}/dev/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'ann' }),
        });
        expect(response.status).toBe(201);
        return ((await response.json()) as { token: string }).token;
      };
      const fromA = await login(a);
      expect(await upgradeStatus(`${a.url}?token=${fromA}`)).toBe(101);
      expect(await upgradeStatus(`${b.url}?token=${fromA}`)).toBe(401);
      const publicSecret = 'nest-realtime-sample-dev-secret-do-not-use-in-production';
      const forged = hsToken(
        { user_id: 'root', roles: ['admin'], exp: Math.floor(Date.now() / 1000) + 60 },
        publicSecret,
      );
      expect(await upgradeStatus(`${a.url}?token=${forged}`)).toBe(401);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('the sample chat page and dev login (e2e)', () => {
  let withLogin: SampleServer;
  let withoutLogin: SampleServer;
  beforeAll(async () => {
    [withLogin, withoutLogin] = await Promise.all([SampleServer.start({ DEV_LOGIN: '1' }), SampleServer.start()]);
  });
  afterAll(() => Promise.all([withLogin.close(), withoutLogin.close()]));

  it('serves the page, its script and a browser bundle of the client with no Node imports', async () => {
    const page = await fetch(`${withLogin.http}/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/chat.js"></script>');
    // The page knows whether to offer the name login or explain how to log in with a token.
    expect(html).toContain('<body data-dev-login="on">');
    expect(await (await fetch(`${withoutLogin.http}/`)).text()).toContain('<body data-dev-login="off">');
    const script = await (await fetch(`${withLogin.http}/chat.js`)).text();
    expect(script).toContain("from '/nest-realtime-client.js'");
    const bundle = await fetch(`${withLogin.http}/nest-realtime-client.js`);
    expect(bundle.headers.get('content-type')).toMatch(/^text\/javascript/);
    const code = await bundle.text();
    expect(code).toMatch(/export \{[^}]*RealtimeClient/);
    // Self-contained: nothing left to import or require (a Node module would fail the build first).
    expect(code).not.toMatch(/^\s*import[\s{(]/m);
    expect(code).not.toMatch(/\brequire\(/);
  });

  it('issues dev tokens the server accepts, only when dev login is on', async () => {
    const issue = (server: SampleServer, username: unknown) =>
      fetch(`${server.http}/dev/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username }),
      });
    const response = await issue(withLogin, 'ann');
    expect(response.status).toBe(201);
    const { token, user_id } = (await response.json()) as { token: string; user_id: string };
    // In the dev: namespace: a dev token cannot pass for the real user "ann".
    expect(user_id).toBe('dev:ann');
    const client = withLogin.client('ann', { token, reconnect: false });
    await client.connect();
    expect(client.user).toEqual({ user_id: 'dev:ann', username: 'ann', roles: [] });
    await client.disconnect();

    expect((await issue(withLogin, 'not a name!')).status).toBe(400);
    expect((await issue(withLogin, 42)).status).toBe(400);
    // With a real JWT_SECRET and no DEV_LOGIN=1, nobody can mint tokens.
    expect((await issue(withoutLogin, 'ann')).status).toBe(404);
  });
});

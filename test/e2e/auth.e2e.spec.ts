import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ConnectionManager, ConnectionRolesGuard } from '../../lib/index.js';
import { RealtimeStats } from '../../lib/stats/realtime-stats.js';
import { until } from '../support/until.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { TestClient, upgradeStatus } from '../support/test-client.js';
import { ecKeys, forgeToken, hmac, hsToken, nowSeconds, rsaKeys, signWithKey, TEST_SECRET } from '../support/tokens.js';
import {
  AuthFixtureHandlers,
  BillingHandlers,
  DbUserProvider,
  DenyQueryGuard,
  HangingValidator,
  UsersModule,
} from './auth-fixtures.js';

const ada = { user_id: 'u-1', username: 'ada', roles: ['editor'] };

async function connected(url: string, options = {}): Promise<TestClient> {
  const client = await TestClient.connect(url, options);
  await client.next('connected');
  return client;
}

describe('authentication with an HS256 secret (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET } }, { providers: [AuthFixtureHandlers, BillingHandlers] });
  });
  afterAll(() => t.close());

  it('authenticates by message and answers auth_success with the user', async () => {
    const client = await connected(t.url);
    expect(await client.request({ type: 'auth', id: 'a1', data: { token: hsToken(ada) } })).toEqual({
      type: 'auth_success',
      id: 'a1',
      data: { user_id: 'u-1', username: 'ada', roles: ['editor'] },
      timestamp: expect.any(String),
    });
    expect((await client.request({ type: 'me', id: 'm1' })).data).toEqual({
      id: 'u-1',
      username: 'ada',
      roles: ['editor'],
    });
    await client.close();
  });

  it('refuses every other message before authentication with AUTH_REQUIRED, but answers ping and @Public', async () => {
    const client = await connected(t.url);
    expect(await client.request({ type: 'echo', id: 'e1', data: 1 })).toEqual({
      type: 'error',
      id: 'e1',
      data: { code: 'AUTH_REQUIRED', message: 'authentication required' },
      timestamp: expect.any(String),
    });
    expect((await client.request({ type: 'moderate', id: 'm' })).data.code).toBe('AUTH_REQUIRED');
    expect((await client.request({ type: 'ping', id: 'p' })).type).toBe('pong');
    expect((await client.request({ type: 'open.door', id: 'd' })).data).toEqual({ anonymous: true });
    expect((await client.request({ type: 'no.such', id: 'u' })).data.code).toBe('UNKNOWN_TYPE');
    await client.close();
  });

  it.each([
    ['Authorization header', (url: string, token: string) => [url, { headers: { authorization: `Bearer ${token}` } }]],
    ['token query', (url: string, token: string) => [`${url}?token=${encodeURIComponent(token)}`, {}]],
  ])('authenticates at the handshake by %s: auth_success follows connected', async (_name, build) => {
    const [url, options] = build(t.url, hsToken(ada)) as [string, object];
    const client = await TestClient.connect(url, options);
    expect((await client.next()).type).toBe('connected');
    expect(await client.next()).toMatchObject({ type: 'auth_success', data: { user_id: 'u-1' } });
    expect(await client.request({ type: 'echo', id: 'h', data: 'ok' })).toMatchObject({ type: 'echo_response' });
    await client.close();
  });

  it('refuses a bad handshake token with HTTP 401 before the upgrade', async () => {
    const before = t.app.get(RealtimeStats).rejectedUpgrades.unauthorized;
    expect(await upgradeStatus(t.url, { headers: { authorization: 'Bearer not-a-token' } })).toBe(401);
    expect(await upgradeStatus(`${t.url}?token=${hsToken(ada, 'another-secret')}`)).toBe(401);
    expect(t.app.get(RealtimeStats).rejectedUpgrades.unauthorized).toBe(before + 2);
  });

  const { publicKey: rsaPublic, privateKey: rsaPrivate } = rsaKeys();
  const rejected: [string, () => string][] = [
    ['a wrong signature', () => hsToken(ada, 'not-the-secret')],
    ['alg none', () => forgeToken({ alg: 'none', typ: 'JWT' }, { ...ada, exp: nowSeconds() + 60 }, () => '')],
    [
      'a different HMAC algorithm (HS512)',
      () =>
        forgeToken({ alg: 'HS512', typ: 'JWT' }, { ...ada, exp: nowSeconds() + 60 }, (input) =>
          hmac(TEST_SECRET, input),
        ),
    ],
    ['an RS256 token', () => signWithKey(ada, rsaPrivate, 'RS256')],
    ['an expired token', () => hsToken({ ...ada, exp: nowSeconds() - 10 })],
    ['a token not yet valid', () => hsToken({ ...ada, nbf: nowSeconds() + 600 })],
    ['a malformed token', () => 'abc.def'],
    ['a garbage token with three parts', () => 'a.b.c'],
    ['a token without user_id or sub', () => hsToken({ username: 'nobody', roles: [] })],
    ['a token without exp', () => forgeToken({ alg: 'HS256', typ: 'JWT' }, ada, (input) => hmac(TEST_SECRET, input))],
    ['an empty token', () => ''],
  ];

  it.each(rejected)('refuses %s with auth_error AUTH_FAILED and no detail', async (_name, token) => {
    const client = await connected(t.url);
    expect(await client.request({ type: 'auth', id: 'x', data: { token: token() } })).toEqual({
      type: 'auth_error',
      id: 'x',
      data: { code: 'AUTH_FAILED', message: 'authentication failed' },
      timestamp: expect.any(String),
    });
    expect((await client.request({ type: 'echo', id: 'y' })).data.code).toBe('AUTH_REQUIRED');
    await client.close();
    void rsaPublic;
  });

  it('refuses a non-string token with AUTH_FAILED', async () => {
    const client = await connected(t.url);
    expect((await client.request({ type: 'auth', id: 'n', data: { token: 42 } })).data.code).toBe('AUTH_FAILED');
    expect((await client.request({ type: 'auth', id: 'n2' })).data.code).toBe('AUTH_FAILED');
    await client.close();
  });

  it('accepts sub instead of user_id, and defaults the username to the id', async () => {
    const client = await connected(t.url);
    expect((await client.request({ type: 'auth', id: 's', data: { token: hsToken({ sub: 'u-9' }) } })).data).toEqual({
      user_id: 'u-9',
      username: 'u-9',
      roles: [],
    });
    await client.close();
  });

  it("accepts a numeric sub (as Nest's auth guide signs it) and a single-string roles claim", async () => {
    const token = hsToken({ sub: 42, username: 'john', roles: 'admin' });
    const client = await TestClient.connect(t.url, { headers: { authorization: `Bearer ${token}` } });
    expect((await client.next()).type).toBe('connected');
    expect((await client.next()).data).toEqual({ user_id: '42', username: 'john', roles: ['admin'] });
    expect(t.app.get(ConnectionManager).getByUser('42')).toHaveLength(1);
    expect((await client.request({ type: 'moderate', id: 'm' })).type).toBe('moderated');
    const byMessage = await connected(t.url);
    expect((await byMessage.request({ type: 'auth', id: 'n', data: { token: hsToken({ user_id: 7 }) } })).data).toEqual(
      { user_id: '7', username: '7', roles: [] },
    );
    await Promise.all([client.close(), byMessage.close()]);
  });

  it('refuses a token whose user id claim has another type (HTTP 401, AUTH_FAILED)', async () => {
    expect(await upgradeStatus(`${t.url}?token=${hsToken({ sub: true } as never)}`)).toBe(401);
    const client = await connected(t.url);
    const refused = await client.request({
      type: 'auth',
      id: 'b',
      data: { token: hsToken({ sub: 'u', roles: 3 } as never) },
    });
    expect(refused).toMatchObject({
      type: 'auth_error',
      data: { code: 'AUTH_FAILED', message: 'authentication failed' },
    });
    await client.close();
  });

  it('moves a re-authenticated connection to the other user in the registry', async () => {
    const manager = t.app.get(ConnectionManager);
    const client = await connected(t.url);
    await client.request({ type: 'auth', id: 'r1', data: { token: hsToken(ada) } });
    const id = manager.getByUser('u-1').find((c) => c.user?.username === 'ada')!.id;
    await client.request({ type: 'auth', id: 'r2', data: { token: hsToken({ user_id: 'u-2', username: 'bob' }) } });
    expect(manager.getByUser('u-1').map((c) => c.id)).not.toContain(id);
    expect(manager.getByUser('u-2').map((c) => c.id)).toEqual([id]);
    expect((await client.request({ type: 'me', id: 'r3' })).data).toEqual({ id: 'u-2', username: 'bob', roles: [] });
    await client.close();
  });

  it('runs @RequireRoles: any listed role passes, admin passes everything, others get INSUFFICIENT_PERMISSIONS', async () => {
    const asRoles = async (roles: string[]) => {
      const client = await connected(`${t.url}?token=${hsToken({ user_id: `r-${roles.join('-')}`, roles })}`);
      await client.next('auth_success');
      return client;
    };
    const editor = await asRoles(['editor']);
    expect(await editor.request({ type: 'moderate', id: '1' })).toMatchObject({ type: 'moderated', data: 'ok' });
    const admin = await asRoles(['admin']);
    expect(await admin.request({ type: 'moderate', id: '2' })).toMatchObject({ type: 'moderated' });
    expect(await admin.request({ type: 'invoice.list', id: '3' })).toMatchObject({ type: 'invoices', data: ['inv-1'] });
    const viewer = await asRoles(['viewer']);
    expect(await viewer.request({ type: 'moderate', id: '4' })).toEqual({
      type: 'authorization_error',
      id: '4',
      data: { code: 'INSUFFICIENT_PERMISSIONS', message: 'insufficient permissions' },
      timestamp: expect.any(String),
    });
    // Class-level @RequireRoles('billing') covers every handler of the class.
    expect((await editor.request({ type: 'invoice.list', id: '5' })).type).toBe('authorization_error');
    await Promise.all([editor.close(), admin.close(), viewer.close()]);
  });
});

describe('authentication with public keys (e2e)', () => {
  it.each([
    ['RS256', rsaKeys],
    ['ES256', ecKeys],
  ] as const)(
    'accepts %s tokens and refuses HS256 tokens signed with the public key (alg confusion)',
    async (alg, keys) => {
      const { publicKey, privateKey } = keys();
      const t = await createTestApp({ auth: { publicKey } });
      const good = `${t.url}?token=${signWithKey(ada, privateKey, alg)}`;
      expect(await upgradeStatus(good)).toBe(101);
      const confused = forgeToken({ alg: 'HS256', typ: 'JWT' }, { ...ada, exp: nowSeconds() + 60 }, (input) =>
        hmac(publicKey, input),
      );
      expect(await upgradeStatus(`${t.url}?token=${confused}`)).toBe(401);
      const client = await connected(t.url);
      expect((await client.request({ type: 'auth', id: 'c', data: { token: confused } })).data.code).toBe(
        'AUTH_FAILED',
      );
      await client.close();
      await t.close();
    },
  );
});

describe('token expiry while connected (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('sends TOKEN_EXPIRED at exp, then closes with 4001 unless re-authenticated within the grace period', async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET, expiryGracePeriod: 1500 } });
    const exp = nowSeconds() + 1;
    const lazy = await connected(`${t.url}?token=${hsToken({ ...ada, exp })}`);
    const diligent = await connected(`${t.url}?token=${hsToken({ ...ada, exp })}`);
    await Promise.all([lazy.next('auth_success'), diligent.next('auth_success')]);

    const [expired, diligentExpired] = await Promise.all([lazy.next('error', 4000), diligent.next('error', 4000)]);
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
    expect(expired.data.code).toBe('TOKEN_EXPIRED');
    expect(diligentExpired.data.code).toBe('TOKEN_EXPIRED');
    expect((await diligent.request({ type: 'auth', id: 'fresh', data: { token: hsToken(ada) } })).type).toBe(
      'auth_success',
    );
    // Once expired, the connection no longer counts as authenticated.
    expect((await lazy.request({ type: 'echo', id: 'late' })).data.code).toBe('AUTH_REQUIRED');
    expect(await lazy.closed).toEqual({ code: 4001, reason: 'token expired' });
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect(await diligent.request({ type: 'echo', id: 'still', data: 1 })).toMatchObject({ type: 'echo_response' });
    await diligent.close();
  });
});

describe('authentication deadline (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('closes a connection that has not authenticated within authTimeout with 4001, and only that one', async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET }, authTimeout: 600 });
    const opened = Date.now();
    const squatter = await connected(t.url);
    const late = await connected(t.url);
    const atHandshake = await connected(`${t.url}?token=${hsToken(ada)}`);
    // Opened after the others: its deadline comes last, so once it is closed, theirs have passed.
    const lastSquatter = await connected(t.url);
    expect((await late.request({ type: 'auth', id: 'a', data: { token: hsToken(ada) } })).type).toBe('auth_success');
    // Pings keep a socket alive, not anonymous: the deadline counts from the upgrade.
    const pinging = setInterval(() => squatter.send({ type: 'ping' }), 100);
    try {
      expect(await squatter.closed).toEqual({ code: 4001, reason: 'authentication timeout' });
    } finally {
      clearInterval(pinging);
    }
    expect(Date.now() - opened).toBeGreaterThanOrEqual(600);
    expect(await lastSquatter.closed).toEqual({ code: 4001, reason: 'authentication timeout' });
    expect(await late.request({ type: 'echo', id: 'e1', data: 1 })).toMatchObject({ type: 'echo_response' });
    expect(await atHandshake.request({ type: 'echo', id: 'e2', data: 2 })).toMatchObject({ type: 'echo_response' });
    await Promise.all([late.close(), atHandshake.close()]);
  });

  it('leaves anonymous connections open when authentication is optional, or the deadline is 0', async () => {
    for (const options of [
      { auth: { secret: TEST_SECRET, required: false }, authTimeout: 300 },
      { auth: { secret: TEST_SECRET }, authTimeout: 0 },
    ]) {
      t = await createTestApp(options);
      const anonymous = await connected(t.url);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await anonymous.request({ type: 'ping', id: 'p' })).toMatchObject({ type: 'pong' });
      await anonymous.close();
      await t.close();
      t = undefined;
    }
  });
});

describe('pluggable validator and user provider, connection guards and limits (e2e)', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('uses a database-backed UserProvider built by Nest with its dependencies', async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET } }, { providers: [AuthFixtureHandlers] }, undefined, {
      userProvider: DbUserProvider,
      imports: [UsersModule],
    });
    const client = await connected(t.url);
    expect((await client.request({ type: 'auth', id: '1', data: { token: hsToken(ada) } })).data).toEqual({
      user_id: 'u-1',
      username: 'Ada (db)',
      roles: ['editor'],
    });
    const stranger = hsToken({ user_id: 'u-404' });
    expect((await client.request({ type: 'auth', id: '2', data: { token: stranger } })).data.code).toBe('AUTH_FAILED');
    await client.close();
  });

  it('answers 408 when the handshake does not complete within handshakeTimeout', async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET }, handshakeTimeout: 200 }, {}, undefined, {
      tokenValidator: HangingValidator,
    });
    const started = Date.now();
    expect(await upgradeStatus(`${t.url}?token=whatever`)).toBe(408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(t.app.get(RealtimeStats).rejectedUpgrades.handshake_timeout).toBe(1);
    expect(t.app.get(ConnectionManager).count).toBe(0);
  });

  it('runs connection guards at the upgrade: 401 without a user, 403 with one, 101 when allowed', async () => {
    t = await createTestApp({
      auth: { secret: TEST_SECRET },
      connectionGuards: [DenyQueryGuard, new ConnectionRolesGuard('staff')],
    });
    const staff = hsToken({ user_id: 's-1', roles: ['staff'] });
    const guest = hsToken({ user_id: 'g-1', roles: ['guest'] });
    expect(await upgradeStatus(t.url)).toBe(401);
    expect(await upgradeStatus(`${t.url}?token=${guest}`)).toBe(403);
    expect(await upgradeStatus(`${t.url}?token=${staff}&deny=1`)).toBe(403);
    expect(await upgradeStatus(`${t.url}?token=${staff}`)).toBe(101);
  });

  it('runs the connection guards again when an auth message changes the identity (auth_error FORBIDDEN, identity kept)', async () => {
    t = await createTestApp({
      auth: { secret: TEST_SECRET },
      connectionGuards: [DenyQueryGuard, new ConnectionRolesGuard('staff')],
    });
    const staff = await connected(`${t.url}?token=${hsToken({ user_id: 's-1', roles: ['staff'] })}`);
    await staff.next('auth_success');
    const userOf = () => t!.app.get(ConnectionManager).getByUser('s-1').length;
    const refused = await staff.request({
      type: 'auth',
      id: 'guest',
      data: { token: hsToken({ user_id: 'g-1', roles: ['guest'] }) },
    });
    expect(refused).toMatchObject({
      type: 'auth_error',
      id: 'guest',
      data: { code: 'FORBIDDEN', message: 'refused by a connection guard' },
    });
    expect(userOf()).toBe(1);
    expect(t.app.get(ConnectionManager).getByUser('g-1')).toHaveLength(0);
    // Another user the guards allow: the identity moves.
    const moved = await staff.request({
      type: 'auth',
      id: 'staff2',
      data: { token: hsToken({ user_id: 's-2', roles: ['staff'] }) },
    });
    expect(moved).toMatchObject({ type: 'auth_success', data: { user_id: 's-2' } });
    expect(userOf()).toBe(0);
    await staff.close();
  });

  it('limits connections per user (429 at the upgrade, auth_error by message) and per address', async () => {
    t = await createTestApp({ auth: { secret: TEST_SECRET }, maxConnectionsPerUser: 2, maxConnectionsPerAddress: 3 });
    const url = `${t.url}?token=${hsToken(ada)}`;
    const a = await connected(url);
    const b = await connected(url);
    expect(await upgradeStatus(url)).toBe(429);
    const c = await connected(t.url);
    expect((await c.request({ type: 'auth', id: 'l', data: { token: hsToken(ada) } })).data).toEqual({
      code: 'TOO_MANY_CONNECTIONS',
      message: 'connection limit reached for this user',
    });
    expect(await upgradeStatus(t.url)).toBe(429); // 4th connection from 127.0.0.1
    await a.close();
    await until(() => t!.app.get(ConnectionManager).getByUser(ada.user_id).length === 1);
    expect((await c.request({ type: 'auth', id: 'l2', data: { token: hsToken(ada) } })).type).toBe('auth_success');
    await Promise.all([b.close(), c.close()]);
  });
});

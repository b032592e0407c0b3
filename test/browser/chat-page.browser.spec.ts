import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { SAMPLE_SECRET, SampleServer } from '../client/sample-server.js';
import { hsToken } from '../support/tokens.js';
import { launchChromium } from './chromium.js';

// The functions passed to page.evaluate/waitForFunction run in the page; the test compiles
// without the DOM library, so the little they touch is declared here.
declare const document: { querySelectorAll(selector: string): { length: number } };
declare const window: { chatApp: { client: { chat(roomId: string, content: string): void } } };

/** Where the run leaves its screenshot (git-ignored). */
const ARTIFACTS = join(process.cwd(), 'test-results');

/** Uncaught errors of the pages' own scripts: none is expected. */
const pageErrors: string[] = [];

async function logIn(page: Page, http: string, name: string): Promise<void> {
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
  await page.goto(`${http}/`);
  await page.fill('#username', name);
  await page.click('#login button');
  await page.waitForSelector('#state[data-state="open"]');
  await page.fill('#room-input', 'lobby');
  await page.click('#join button');
  await page.waitForSelector('#rooms li.current[data-room="lobby"]');
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#message-input', text);
  await page.click('#send button');
}

/** The room messages the page shows, as "username: content". */
function shown(page: Page): Promise<string[]> {
  return page.$$eval('#messages li.chat', (items) => items.map((item) => item.textContent ?? ''));
}

describe('the sample chat page in headless Chromium', () => {
  let server: SampleServer;
  const browsers: Awaited<ReturnType<typeof launchChromium>>[] = [];

  beforeAll(async () => {
    server = await SampleServer.start({ DEV_LOGIN: '1' });
    browsers.push(...(await Promise.all([launchChromium(), launchChromium()])));
  });
  afterAll(async () => {
    await Promise.all(browsers.map((browser) => browser.close()));
    await server?.close();
  });

  it('two pages chat; a page cut off on the server side shows every message once, in order, after it reconnects', async () => {
    const [ann, bob] = await Promise.all(browsers.map((browser) => browser.context.newPage()));
    await logIn(ann, server.http, 'ann');
    await logIn(bob, server.http, 'bob');
    await ann.waitForFunction(() => document.querySelectorAll('#online li').length === 2);

    await say(bob, 'hello ann');
    await ann.waitForSelector('#messages li.chat >> text=hello ann');
    await say(ann, 'hi bob');
    await bob.waitForSelector('#messages li.chat >> text=hi bob');

    // Cut ann's connection on the server (no close frame: like a dead network) while bob keeps
    // talking: some messages go out before ann's reconnect, some while it resumes, some after.
    expect(server.dropUser('dev:ann')).toBe(1); // dev logins are in the dev: namespace
    const burst = 30;
    await bob.evaluate(async (count) => {
      const { client } = window.chatApp;
      for (let i = 1; i <= count; i++) {
        client.chat('lobby', `m${i}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }, burst);

    const expected = ['bob: hello ann', 'ann: hi bob', ...Array.from({ length: burst }, (_, i) => `bob: m${i + 1}`)];
    await bob.waitForFunction((n) => document.querySelectorAll('#messages li.chat').length === n, expected.length);
    expect(await shown(bob)).toEqual(expected);
    await ann.waitForFunction((n) => document.querySelectorAll('#messages li.chat').length >= n, expected.length, {
      timeout: 10_000,
    });
    await ann.waitForSelector('#state[data-state="open"]');
    // A last message: once ann shows it, any duplicate of the earlier ones is shown too.
    await say(bob, 'marker');
    await ann.waitForSelector('#messages li.chat >> text=marker');
    expect(await shown(ann)).toEqual([...expected, 'bob: marker']);
    const seqs = await ann.$$eval('#messages li.chat', (items) =>
      items.map((item) => Number(item.getAttribute('data-seq'))),
    );
    seqs.slice(1).forEach((seq, i) => expect(seq).toBe(seqs[i] + 1));
    expect(await ann.textContent('#reconnects')).toBe('1');
    expect(await ann.$$eval('#messages li.notice', (items) => items.length)).toBe(0); // no resume_failed

    expect(pageErrors).toEqual([]);

    mkdirSync(ARTIFACTS, { recursive: true });
    const screenshot = join(ARTIFACTS, 'chat-page.png');
    await ann.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(1000);
  });

  it('makes one client of a login submitted twice while the first is pending', async () => {
    const page = await browsers[0].context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`cy: ${error.message}`));
    await page.goto(`${server.http}/`);
    await page.fill('#username', 'cy');
    // An impatient double click: the second submit comes while the first login is pending.
    await page.$eval('#login', (form) => {
      const submit = form as unknown as { requestSubmit(): void };
      submit.requestSubmit();
      submit.requestSubmit();
    });
    await page.waitForSelector('#state[data-state="open"]');
    await new Promise((resolve) => setTimeout(resolve, 300)); // a second client would be connected by now
    expect(server.connectionsOf('dev:cy').length).toBe(1);
    expect(pageErrors).toEqual([]);
  });

  it('without the dev login, explains how to log in and logs in with a pasted token', async () => {
    const withoutDevLogin = await SampleServer.start(); // JWT_SECRET set, DEV_LOGIN unset: no POST /dev/token
    try {
      const page = await browsers[1].context.newPage();
      page.on('pageerror', (error) => pageErrors.push(`token page: ${error.message}`));
      await page.goto(`${withoutDevLogin.http}/`);
      // No name field that can only fail: the explanation and the token field instead.
      expect(await page.isHidden('#login')).toBe(true);
      expect(await page.textContent('#login-help')).toContain('development login is off');
      expect(await page.textContent('#login-help')).toContain('JWT_SECRET');

      await page.fill('#token', hsToken({ sub: 'mallory' }, 'another-secret-0123456789abcdef'));
      await page.click('#token-login button');
      await page.waitForSelector('#login-error:not([hidden])');
      expect(await page.textContent('#login-error')).toContain('the server refused this token');
      expect(withoutDevLogin.connectionsOf('mallory')).toHaveLength(0);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'chat-page-token-login.png'), fullPage: true });

      // What an auth service following Nest's guide issues: a numeric sub; pasted with "Bearer ".
      const token = hsToken({ sub: 42, username: 'dora' }, SAMPLE_SECRET);
      await page.fill('#token', `Bearer ${token}\n`);
      await page.click('#token-login button');
      await page.waitForSelector('#state[data-state="open"]');
      expect(await page.textContent('#whoami')).toBe('logged in as dora');
      expect(await page.isHidden('#login-panel')).toBe(true);
      expect(withoutDevLogin.connectionsOf('42')).toHaveLength(1);
      await page.fill('#room-input', 'lobby');
      await page.click('#join button');
      await page.waitForSelector('#rooms li.current[data-room="lobby"]');
      await say(page, 'hello with a token');
      await page.waitForSelector('#messages li.chat >> text=hello with a token');
      expect(pageErrors).toEqual([]);
      await page.close();
    } finally {
      await withoutDevLogin.close();
    }
  });
});

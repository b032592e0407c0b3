import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Page } from 'playwright-core';
import { FrameCompression } from '../../lib/connections/frame-compression.js';
import { SampleServer } from '../client/sample-server.js';
import { launchChromium } from './chromium.js';

declare const window: { chatApp: { client: { chat(roomId: string, content: string): void } } };

/** About 2 KB of chat-like text: above the 1024-byte threshold, and compressible. */
const LONG_TEXT = Array.from({ length: 40 }, (_, i) => `line ${i}: the deploy is done, dashboards look fine`).join(' ');

/** Logs in with the dev login, joins `lobby`, and returns the `Sec-WebSocket-Extensions` the server answered. */
async function logIn(page: Page, http: string, name: string): Promise<string> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const accepted = new Promise<string>((resolve) =>
    cdp.on('Network.webSocketHandshakeResponseReceived', (event) => {
      const headers = event.response.headers as Record<string, string>;
      const key = Object.keys(headers).find((name) => name.toLowerCase() === 'sec-websocket-extensions');
      resolve(key === undefined ? '' : headers[key]);
    }),
  );
  await page.goto(`${http}/`);
  await page.fill('#username', name);
  await page.click('#login button');
  await page.waitForSelector('#state[data-state="open"]');
  await page.fill('#room-input', 'lobby');
  await page.click('#join button');
  await page.waitForSelector('#rooms li.current[data-room="lobby"]');
  return accepted;
}

/** The sample with WS_COMPRESSION=on, as a browser sees it (PROTOCOL.md, "The sample app"). */
describe('permessage-deflate with headless Chromium (WS_COMPRESSION=on)', () => {
  let server: SampleServer;
  const browsers: Awaited<ReturnType<typeof launchChromium>>[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    server = await SampleServer.start({ DEV_LOGIN: '1', WS_COMPRESSION: 'on' });
    browsers.push(...(await Promise.all([launchChromium(), launchChromium()])));
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });
  afterAll(async () => {
    await Promise.all(browsers.map((browser) => browser.close()));
    await server?.close();
  });

  it('Chromium negotiates permessage-deflate without context takeover and shows a broadcast it got compressed', async () => {
    const [ann, bob] = await Promise.all(browsers.map((browser) => browser.context.newPage()));
    for (const page of [ann, bob]) page.on('pageerror', (error) => pageErrors.push(error.message));
    const extensions = [await logIn(ann, server.http, 'ann'), await logIn(bob, server.http, 'bob')];
    for (const header of extensions) {
      expect(header).toMatch(/^permessage-deflate/);
      expect(header).toContain('server_no_context_takeover');
      expect(header).toContain('client_no_context_takeover');
    }
    // The server sends these connections its compressed frames.
    for (const user of ['dev:ann', 'dev:bob']) {
      expect(server.connectionsOf(user).map((connection) => connection.compression !== undefined)).toEqual([true]);
    }

    const deflate = jest.spyOn(FrameCompression.prototype, 'frame');
    // Chromium compresses what it sends too: the server inflates it.
    await bob.evaluate((text) => window.chatApp.client.chat('lobby', text), LONG_TEXT);
    for (const page of [ann, bob]) {
      await page.waitForFunction(
        (text) => [...document.querySelectorAll('#messages li.chat')].some((item) => item.textContent?.endsWith(text)),
        LONG_TEXT,
      );
    }
    // One deflate for both members: the same compressed frame went to each page.
    expect(deflate).toHaveBeenCalledTimes(1);
    expect(pageErrors).toEqual([]);
  });
});

declare const document: { querySelectorAll(selector: string): Iterable<{ textContent: string | null }> };

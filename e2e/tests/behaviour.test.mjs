// The web client in real headless Chromium against a real `hearth serve`:
// an empty room says so, the tab's title counts unread messages
// ("(1) #quiet — Hearth"), a link in a message opens in a new tab without
// opener or referrer, and "Retry now" brings a stream back at once.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { apiPost, apiToken, launchBrowser, newPage, signIn, startServer, waitConnected } from '../support.mjs';

let browser;
let server;
before(async () => {
  browser = await launchBrowser();
  server = await startServer();
});
after(async () => {
  await server?.stop();
  await browser?.close();
});

describe('the web client for a new user', () => {
  test('an empty room says so; the title counts unread; links open in a new tab', async () => {
    const bo = await apiToken(server.url, 'bo');
    await apiPost(server.url, bo, 'busy', 'a room with a message');
    const ana = await newPage(browser);
    await signIn(ana, server.url, 'ana', 'quiet');
    await ana.waitForFunction(() => getComputedStyle(document.querySelector('#messages'), '::before').content
      === '"No messages yet. Say hello!"');
    await ana.waitForFunction(() => document.title === '#quiet — Hearth');
    await ana.locator('li.room[data-room="busy"]').waitFor();
    await apiPost(server.url, bo, 'busy', 'see https://example.org/docs');
    await ana.waitForFunction(() => document.title === '(1) #quiet — Hearth');

    await apiPost(server.url, bo, 'quiet', 'docs at https://example.org/docs');
    const link = ana.locator('#messages a[href="https://example.org/docs"]');
    await link.waitFor();
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await ana.evaluate(() => getComputedStyle(document.querySelector('#messages'), '::before').content), 'none',
      'the empty state goes with the first message');
    assert.deepEqual(ana.consoleErrors, []);
  });

  test('a stream that is down says why and comes back at once with Retry now', async () => {
    const ana = await newPage(browser);
    await signIn(ana, server.url, 'ana2', 'general');
    const { port, data } = server;
    await server.stop();
    await ana.locator('#connection[data-state="offline"]').waitFor({ timeout: 30000 });
    await ana.locator('#connection-why:not([hidden])').waitFor();
    await ana.locator('#reconnect-now:not([hidden])').waitFor();
    server = await startServer({ port, data });
    // The page's own backoff may reconnect (and hide the button) while the
    // server starts; press it as a person would at that moment, without
    // waiting for it to stay visible.
    await ana.evaluate(() => document.querySelector('#reconnect-now').click());
    await waitConnected(ana, 5000);
  });
});

// The web page of a room offers the desktop app: a `hearth://join` link to
// the same server and room (the app's deep link, issue 16).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launchBrowser, newPage, startServer } from '../support.mjs';

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

test('the sign-in page of a room links to that room in the app', async () => {
  const page = await newPage(browser);
  await page.goto(`${server.url}/r/dev-ops`);
  const link = page.locator('#open-in-app');
  await link.waitFor({ state: 'visible' });
  await page.waitForFunction(() => document.querySelector('#open-in-app').href.includes('room='));
  const href = new URL(await link.getAttribute('href'));
  assert.equal(href.protocol, 'hearth:');
  assert.equal(href.searchParams.get('url'), `${server.url}/`);
  assert.equal(href.searchParams.get('room'), 'dev-ops');
  assert.deepEqual(page.consoleErrors, []);
});

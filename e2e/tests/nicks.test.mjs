// Protected nicks in the web client, in real headless Chromium against a real
// `hearth serve`: protecting a nick at sign-in, being told a nick is
// protected, a wrong and the right nick password, and picking another nick.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, newPage, send, startServer, waitConnected, waitForText } from '../support.mjs';

const ANA_NICK_PASSWORD = 'ana-secret-42';
const PROTECTED = 'ana is protected: enter its nick password, or pick another nick.';
const WRONG = 'That nick password is wrong for ana: try again, or pick another nick.';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Opens the sign-in screen and types `nick` (nothing submitted yet). */
async function openSignIn(page, url, nick) {
  await page.goto(`${url}/r/general`);
  await page.locator('#nick').fill(nick);
}

async function submit(page) {
  await page.locator('#signin-submit').click();
}

async function signedInAs(page, nick) {
  await page.locator('#app').waitFor({ state: 'visible' });
  await waitConnected(page);
  const who = await page.evaluate(() => fetch('/api/session').then((r) => r.json()));
  assert.equal(who.nick, nick);
  return who;
}

describe('protected nicks', () => {
  let server;
  before(async () => {
    // No wait after a wrong nick password here (the backoff has protocol
    // tests of its own): the right one is tried at once.
    server = await startServer({ args: ['--password-backoff', '0s'] });
  });
  after(async () => server?.stop());

  test('ana protects her nick; another browser must give its nick password or pick another nick', async () => {
    const ana = await newPage(browser);
    await openSignIn(ana, server.url, 'ana');
    // The field shows only when the box is ticked.
    assert.equal(await ana.locator('#nick-password').isVisible(), false);
    await ana.locator('#protect-nick').check();
    const field = ana.locator('#nick-password');
    await field.waitFor({ state: 'visible' });
    assert.equal(await field.getAttribute('type'), 'password');
    assert.equal(await field.getAttribute('autocomplete'), 'new-password');
    // Too short: refused before sending, with a sentence.
    await field.fill('short');
    await submit(ana);
    await ana.locator('#signin-error', { hasText: 'at least 8 characters' }).waitFor();
    assert.equal(await ana.locator('#app').isVisible(), false);
    await field.fill(ANA_NICK_PASSWORD);
    await submit(ana);
    const session = await signedInAs(ana, 'ana');
    assert.equal(session.protected, true);
    await send(ana, 'ana was here');
    await waitForText(ana, 'ana was here');

    // Another browser, no nick password: told so, and asked for it.
    const other = await newPage(browser);
    await openSignIn(other, server.url, 'ana');
    await submit(other);
    await other.locator('#signin-error', { hasText: PROTECTED }).waitFor();
    const otherField = other.locator('#nick-password');
    await otherField.waitFor({ state: 'visible' });
    assert.equal(await other.evaluate(() => document.activeElement?.id), 'nick-password');
    assert.equal(await other.locator('#nick').isEditable(), true);

    // A wrong one: refused again, with a sentence.
    await otherField.fill('not-her-password');
    await submit(other);
    await other.locator('#signin-error', { hasText: WRONG }).waitFor();
    assert.equal(await other.locator('#app').isVisible(), false);

    // The right one: signed in as ana, who sees her message.
    await otherField.fill(ANA_NICK_PASSWORD);
    await submit(other);
    await signedInAs(other, 'ana');
    await waitForText(other, 'ana was here');

    assert.deepEqual(ana.consoleErrors, []);
    assert.deepEqual(other.consoleErrors, []);
    await ana.context().close();
    await other.context().close();
  });

  test('refused as a protected nick, another browser picks another nick and signs in', async () => {
    // ana is protected by the test above; protect her again if run alone.
    await fetch(`${server.url}/api/session`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ nick: 'ana', nick_password: ANA_NICK_PASSWORD }),
    });
    const bo = await newPage(browser);
    await openSignIn(bo, server.url, 'ana');
    await submit(bo);
    await bo.locator('#signin-error', { hasText: PROTECTED }).waitFor();
    await bo.locator('#nick-password').fill('half-typed');
    // Another nick: the nick-password field goes, and nothing protects bo.
    await bo.locator('#nick').fill('bo');
    assert.equal(await bo.locator('#nick-password').isVisible(), false);
    await submit(bo);
    const session = await signedInAs(bo, 'bo');
    assert.equal(session.protected, false);
    assert.deepEqual(bo.consoleErrors, []);
    await bo.context().close();
  });
});

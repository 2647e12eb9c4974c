// The web client in real headless Chromium against a real `hearth serve`:
// what two people in a room see, reloads, scrollback, hostile text, and the
// offline outbox across a server restart.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  apiHistory,
  apiPost,
  apiToken,
  launchBrowser,
  newPage,
  onlineNicks,
  screenshot,
  send,
  shownTexts,
  signIn,
  startServer,
  waitConnected,
  waitForText,
} from '../support.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

describe('two people in one room', () => {
  let server;
  before(async () => {
    // The seeding below posts faster than a person may.
    server = await startServer({ args: ['--post-burst', '1000', '--ip-post-burst', '1000'] });
  });
  after(async () => server?.stop());

  test('what one sends the other sees once, with the right nick; presence follows', async () => {
    const ana = await newPage(browser);
    const bo = await newPage(browser);
    await signIn(ana, server.url, 'ana');
    await signIn(bo, server.url, 'bo');
    await ana.waitForFunction(() => [...document.querySelectorAll('#online li')].length === 2);
    assert.deepEqual(await onlineNicks(ana), ['ana', 'bo']);
    assert.deepEqual(await onlineNicks(bo), ['ana', 'bo']);

    await send(ana, 'hello from ana');
    await waitForText(bo, 'hello from ana');
    const seen = await bo.$$eval('#messages .message', (els) =>
      els.filter((e) => e.querySelector('.text')?.textContent === 'hello from ana')
        .map((e) => ({ own: e.classList.contains('own'), id: e.dataset.id })),
    );
    assert.equal(seen.length, 1, 'shown exactly once');
    assert.equal(seen[0].own, false);
    // The nick shown for the group that holds the message is ana's.
    const nick = await bo.evaluate(() => {
      let el = [...document.querySelectorAll('#messages .message')].find(
        (e) => e.querySelector('.text')?.textContent === 'hello from ana');
      while (el && !el.querySelector('.nick')?.textContent) el = el.previousElementSibling;
      return el?.querySelector('.nick')?.textContent.trim();
    });
    assert.equal(nick, 'ana');
    await waitForText(ana, 'hello from ana');
    const own = await ana.$$eval('#messages .message.own .text', (els) => els.map((e) => e.textContent));
    assert.deepEqual(own, ['hello from ana']);
    // The composer is cleared after sending.
    assert.equal(await ana.locator('#composer-text').inputValue(), '');

    await bo.context().close();
    await ana.waitForFunction(() => [...document.querySelectorAll('#online li')].length === 1);
    assert.deepEqual(await onlineNicks(ana), ['ana']);
    assert.deepEqual(ana.dialogs, []);
    assert.deepEqual(ana.consoleErrors, []);
    await ana.context().close();
  });

  test('hostile text is shown as literal text and runs nothing', async () => {
    const ana = await newPage(browser);
    const bo = await newPage(browser);
    await signIn(ana, server.url, 'ana', 'xss');
    await signIn(bo, server.url, 'bo', 'xss');
    const img = '<img src=x onerror=alert(1)>';
    const script = '</script><script>alert(2)</script>';
    await send(ana, img);
    await send(ana, script);
    for (const page of [ana, bo]) {
      await waitForText(page, img);
      await waitForText(page, script);
      assert.equal(await page.locator('#messages img').count(), 0);
      assert.equal(await page.locator('#messages script').count(), 0);
    }
    await bo.reload();
    await waitConnected(bo);
    await waitForText(bo, script);
    assert.deepEqual(ana.dialogs, []);
    assert.deepEqual(bo.dialogs, []);
    // Links are clickable and safe.
    await send(ana, 'see https://example.invalid/page?q=1 now');
    await bo.locator('#messages a[href="https://example.invalid/page?q=1"]').waitFor();
    const rel = await bo.locator('#messages a[href="https://example.invalid/page?q=1"]').getAttribute('rel');
    assert.match(rel, /noopener/);
    assert.match(rel, /noreferrer/);
    // The session cookie is out of reach of scripts.
    assert.equal(await bo.evaluate(() => document.cookie.includes('hearth_session')), false);
    await ana.context().close();
    await bo.context().close();
  });

  test('a reload keeps the session and shows history; older messages load on demand', async () => {
    const token = await apiToken(server.url, 'seeder');
    for (let i = 0; i < 80; i++) {
      await apiPost(server.url, token, 'archive', `m${i}`);
    }
    const ana = await newPage(browser);
    await signIn(ana, server.url, 'ana', 'archive');
    await waitForText(ana, 'm79');
    let texts = await shownTexts(ana);
    assert.equal(texts.length, 50);
    assert.equal(texts[0], 'm30');

    await ana.reload();
    await ana.locator('#app').waitFor({ state: 'visible' });
    assert.equal(await ana.locator('#signin').isVisible(), false, 'still signed in');
    assert.equal((await ana.locator('#me').textContent()).trim(), 'ana');
    await waitForText(ana, 'm79');

    await ana.locator('#load-older').click();
    await waitForText(ana, 'm0');
    texts = await shownTexts(ana);
    assert.equal(texts.length, 80);
    assert.deepEqual(texts, Array.from({ length: 80 }, (_, i) => `m${i}`));
    await ana.context().close();
  });

  test('rooms: invalid names are refused, new rooms open, unread counts grow', async () => {
    const ana = await newPage(browser);
    const bo = await newPage(browser);
    await signIn(ana, server.url, 'ana');
    await signIn(bo, server.url, 'bo');

    await ana.locator('#new-room-name').fill('Not A Room');
    await ana.locator('#new-room-name').press('Enter');
    await ana.waitForFunction(() => document.querySelector('#new-room-error').textContent.trim() !== '');
    assert.match(new URL(ana.url()).pathname, /^\/r\/general$/);

    await ana.locator('#new-room-name').fill('dev-talk');
    await ana.locator('#new-room-name').press('Enter');
    await ana.waitForURL(/\/r\/dev-talk$/);
    assert.equal((await ana.locator('#room-title').textContent()).trim(), 'dev-talk');
    await waitConnected(ana);

    // ana is now in dev-talk only: bo, in general, sees just himself there.
    await bo.waitForFunction(() =>
      [...document.querySelectorAll('#online li')].map((e) => e.textContent.trim()).join() === 'bo');
    // bo stays in general; a message in dev-talk shows as unread there.
    await bo.locator('li.room[data-room="dev-talk"]').waitFor({ timeout: 40000 });
    await send(ana, 'in dev-talk');
    await bo.locator('li.room[data-room="dev-talk"] .unread:not([hidden])').waitFor();
    assert.equal((await bo.locator('li.room[data-room="dev-talk"] .unread').textContent()).trim(), '1');
    await bo.locator('li.room[data-room="dev-talk"]').click();
    await bo.waitForURL(/\/r\/dev-talk$/);
    await waitForText(bo, 'in dev-talk');
    await bo.locator('li.room[data-room="dev-talk"] .unread[hidden]').waitFor({ state: 'attached' });
    await ana.context().close();
    await bo.context().close();
  });

  test('a phone-sized screen has no horizontal scroll', async () => {
    const ana = await newPage(browser, { width: 360, height: 740 });
    await signIn(ana, server.url, 'ana');
    await send(ana, 'a long line '.repeat(40));
    await waitForText(ana, ('a long line '.repeat(40)).trimEnd());
    const overflow = await ana.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    await screenshot(ana, 'phone-360');
    await ana.context().close();
  });
});

describe('offline', () => {
  test('messages typed while the server is down wait, then arrive exactly once', async () => {
    let server = await startServer();
    const { port, data } = server;
    const ana = await newPage(browser);
    const bo = await newPage(browser);
    await signIn(ana, server.url, 'ana');
    await signIn(bo, server.url, 'bo');

    await server.stop('SIGKILL');
    await ana.locator('#connection[data-state="offline"]').waitFor({ timeout: 20000 });
    await send(ana, 'typed offline 1');
    await send(ana, 'typed offline 2');
    assert.equal(await ana.locator('#messages .message.pending').count(), 2);
    await screenshot(ana, 'offline-outbox');

    server = await startServer({ data, port });
    try {
      await waitConnected(ana, 45000);
      await waitForText(bo, 'typed offline 2', 45000);
      await waitForText(ana, 'typed offline 2', 20000);
      await ana.locator('#messages .message.pending').waitFor({ state: 'detached' });
      for (const page of [ana, bo]) {
        const texts = await shownTexts(page);
        assert.equal(texts.filter((t) => t === 'typed offline 1').length, 1);
        assert.equal(texts.filter((t) => t === 'typed offline 2').length, 1);
        assert.ok(texts.indexOf('typed offline 1') < texts.indexOf('typed offline 2'));
      }
      const token = await apiToken(server.url, 'checker');
      const stored = (await apiHistory(server.url, token, 'general')).map((m) => m.text);
      assert.equal(stored.filter((t) => t === 'typed offline 1').length, 1);
      assert.equal(stored.filter((t) => t === 'typed offline 2').length, 1);
    } finally {
      await ana.context().close();
      await bo.context().close();
      await server.stop();
    }
  });
});

describe('a password-protected server', () => {
  test('a wrong password shows a clear error, the right one joins', async () => {
    // No backoff: the right password follows the wrong one within a second.
    const server = await startServer({ args: ['--password', 'sesame', '--password-backoff', '0s'] });
    const page = await newPage(browser);
    try {
      await page.goto(`${server.url}/`);
      await page.locator('#password').waitFor({ state: 'visible' });
      await page.locator('#nick').fill('ana');
      await page.locator('#password').fill('guess');
      await page.locator('#signin-submit').click();
      await page.waitForFunction(() => document.querySelector('#signin-error').textContent.trim() !== '');
      const error = (await page.locator('#signin-error').textContent()).trim();
      assert.match(error, /password/i);
      assert.equal(await page.locator('#app').isVisible(), false);

      await page.locator('#password').fill('sesame');
      await page.locator('#signin-submit').click();
      await page.locator('#app').waitFor({ state: 'visible' });
      await waitConnected(page);
      await send(page, 'in with the password');
      await waitForText(page, 'in with the password');
    } finally {
      await page.context().close();
      await server.stop();
    }
  });
});

describe('themes', () => {
  test('a room in light and dark theme (screenshots in e2e/artifacts)', async () => {
    const server = await startServer();
    const pages = [];
    try {
      const token = await apiToken(server.url, 'bo');
      await apiPost(server.url, token, 'general', 'Morning! Coffee is on in the kitchen.');
      await apiPost(server.url, token, 'general', 'Build is green again:\nhttps://ci.example.invalid/runs/42');
      for (const scheme of ['light', 'dark']) {
        const page = await newPage(browser, { width: 1100, height: 700 }, scheme);
        pages.push(page);
        await signIn(page, server.url, `ana-${scheme}`);
        await send(page, `Thanks! (${scheme} theme)`);
        await waitForText(page, `Thanks! (${scheme} theme)`);
        const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        const [r, g, b] = background.match(/\d+/g).map(Number);
        const light = (r + g + b) / 3 > 128;
        assert.equal(light, scheme === 'light', `${scheme} theme background is ${background}`);
        await screenshot(page, `room-${scheme}`);
      }
    } finally {
      for (const page of pages) await page.context().close();
      await server.stop();
    }
  });
});

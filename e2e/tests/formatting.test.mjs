// Formatted messages in real headless Chromium against a real `hearth
// serve`: the Markdown subset renders, hostile text stays text and runs
// nothing, and reading a long conversation (day separators, the
// "new since you were away" line, the composer's refusals).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  apiPost,
  apiToken,
  launchBrowser,
  newPage,
  screenshot,
  send,
  signIn,
  startServer,
  waitForText,
} from '../support.mjs';
import { ALLOWED } from '../../ui/markdown-dom.js';

/** Tag names markdown-dom.js may put inside a message's text. */
const ALLOWED_TAGS = ALLOWED.map((tag) => tag.toUpperCase());

/** Waits until a stored message's text contains `part`. */
async function waitForPart(page, part, timeout = 15000) {
  await page.waitForFunction(
    (wanted) => [...document.querySelectorAll('#messages .message:not(.pending) .text')].some((e) => e.textContent.includes(wanted)),
    part,
    { timeout },
  );
}

let browser;
let server;
before(async () => {
  browser = await launchBrowser();
  server = await startServer({ args: ['--post-burst', '1000', '--ip-post-burst', '1000'] });
});
after(async () => {
  await server?.stop();
  await browser?.close();
});

describe('formatted messages', () => {
  test('hostile Markdown and HTML are text: nothing runs, no other elements appear', async () => {
    const ana = await newPage(browser);
    const bo = await newPage(browser);
    await signIn(ana, server.url, 'ana', 'hostile');
    await signIn(bo, server.url, 'bo', 'hostile');
    const hostile = [
      '<img src=x onerror="window.__pwned=1">',
      '[x](javascript:alert(1))',
      'javascript:alert(1)',
      '<script>window.__pwned=2</script>',
      '**<img src=x onerror="window.__pwned=3">** `<svg onload=alert(4)>`',
      '> <iframe src="javascript:alert(5)"></iframe>',
      '```\n<script>alert(6)</script>\n```',
    ];
    for (const text of hostile) await send(ana, text);
    for (const page of [ana, bo]) {
      await waitForPart(page, 'alert(6)');
      for (const text of hostile.slice(0, 4)) await waitForText(page, text);
      const found = await page.evaluate(() => ({
        tags: [...document.querySelectorAll('#messages .text *')].map((e) => e.tagName),
        hrefs: [...document.querySelectorAll('#messages a')].map((a) => a.getAttribute('href')),
        pwned: window.__pwned ?? null,
      }));
      assert.deepEqual(found.tags.filter((t) => !ALLOWED_TAGS.includes(t)), []);
      assert.deepEqual(found.hrefs, [], 'nothing here is an http(s) URL');
      assert.equal(found.pwned, null);
      assert.deepEqual(page.dialogs, []);
      assert.deepEqual(page.consoleErrors, []);
    }
    // The code block shows the tag as text.
    assert.equal(await bo.locator('#messages .codeblock pre code').last().textContent(), '<script>alert(6)</script>');
    await ana.context().close();
    await bo.context().close();
  });

  test('bold, italic, code, quotes and links render; a code block has a copy button', async () => {
    const ana = await newPage(browser);
    const bo = await newPage(browser);
    await bo.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await signIn(ana, server.url, 'ana', 'format');
    await signIn(bo, server.url, 'bo', 'format');
    await send(ana, '**bold** and *italic* and `a*b*c`, see https://example.invalid/docs?q=1.');
    await send(ana, '> quoted **text**\nreply');
    await send(ana, '```\nconst x = 1; // a line long enough to scroll sideways '.concat('x'.repeat(200), '\n```'));
    await waitForPart(bo, 'const x = 1;');
    await waitForPart(bo, 'reply');

    assert.equal(await bo.locator('#messages .text strong').first().textContent(), 'bold');
    assert.equal(await bo.locator('#messages .text em').first().textContent(), 'italic');
    assert.equal(await bo.locator('#messages .text > code').first().textContent(), 'a*b*c');
    assert.equal(await bo.locator('#messages .text blockquote').first().textContent(), 'quoted text');
    const a = bo.locator('#messages a[href="https://example.invalid/docs?q=1"]');
    assert.equal(await a.textContent(), 'https://example.invalid/docs?q=1');
    assert.equal(await a.getAttribute('target'), '_blank');
    assert.match(await a.getAttribute('rel'), /noopener/);
    assert.match(await a.getAttribute('rel'), /noreferrer/);

    // The code block scrolls sideways inside the message, not the page.
    const pre = bo.locator('#messages .codeblock pre').last();
    const sizes = await pre.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, font: getComputedStyle(el).fontFamily }));
    assert.ok(sizes.scroll > sizes.client, 'the long line overflows the block');
    assert.match(sizes.font, /mono/i);
    assert.ok(await bo.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));

    const copy = bo.locator('#messages .codeblock .copy-code').last();
    await copy.click();
    await bo.waitForFunction(() => [...document.querySelectorAll('.copy-code')].some((b) => b.textContent === 'Copied'));
    const copied = await bo.evaluate(() => navigator.clipboard.readText());
    assert.match(copied, /^const x = 1;/);
    assert.deepEqual(bo.consoleErrors, []);
    await ana.context().close();
    await bo.context().close();
  });
});

describe('reading a long conversation', () => {
  test('day separators: "Today" here, "Yesterday" for a reader whose clock is a day ahead', async () => {
    const ana = await newPage(browser);
    const bo = await newPage(browser);
    await bo.clock.setFixedTime(new Date(Date.now() + 24 * 3600 * 1000));
    await signIn(ana, server.url, 'ana', 'days');
    await signIn(bo, server.url, 'bo', 'days');
    await send(ana, 'first of the day');
    await send(ana, 'second of the day');
    for (const page of [ana, bo]) await waitForText(page, 'second of the day');
    const seps = (page) => page.$$eval('#messages > .day-sep', (els) => els.map((e) => e.textContent));
    assert.deepEqual(await seps(ana), ['Today']);
    assert.deepEqual(await seps(bo), ['Yesterday']);
    // The separator comes first, and the messages after it form one group.
    assert.equal(await ana.evaluate(() => document.querySelector('#messages').firstElementChild.className), 'day-sep');
    assert.equal(await ana.locator('#messages .message.cont').count(), 1);
    await ana.context().close();
    await bo.context().close();
  });

  test('opening a room with unread messages shows "New since you were away" at the first one', async () => {
    const token = await apiToken(server.url, 'cy');
    await apiPost(server.url, token, 'away', 'read before');
    const bo = await newPage(browser);
    await signIn(bo, server.url, 'bo', 'general');
    await bo.locator('li.room[data-room="away"]').waitFor();
    await apiPost(server.url, token, 'away', 'unread one');
    await apiPost(server.url, token, 'away', 'unread two');
    await bo.locator('li.room[data-room="away"] .unread:not([hidden])').waitFor();
    await bo.waitForFunction(() => document.querySelector('li.room[data-room="away"] .unread').textContent.trim() === '2');
    await bo.locator('li.room[data-room="away"]').click();
    await waitForText(bo, 'unread two');
    const order = await bo.$$eval('#messages > *', (els) => els.map((e) => (e.classList.contains('message')
      ? e.querySelector('.text').textContent : `[${e.textContent}]`)));
    assert.deepEqual(order, ['[Today]', 'read before', '[New since you were away]', 'unread one', 'unread two']);
    await screenshot(bo, 'new-since-away');
    // Back in general and here again: nothing is unread any more.
    await bo.locator('li.room[data-room="general"]').click();
    await bo.waitForURL(/\/r\/general$/);
    await bo.locator('li.room[data-room="away"]').click();
    await waitForText(bo, 'unread two');
    assert.equal(await bo.locator('#messages .unread-line').count(), 0);
    await bo.context().close();
  });

  test('the list takes focus for PageUp; scrolling to the top loads older messages', async () => {
    const token = await apiToken(server.url, 'seeder');
    for (let i = 0; i < 80; i++) await apiPost(server.url, token, 'long', `m${i}`);
    const ana = await newPage(browser);
    await signIn(ana, server.url, 'ana', 'long');
    await waitForText(ana, 'm79');
    assert.equal(await ana.locator('#scroller').getAttribute('tabindex'), '0');
    assert.ok(await ana.locator('#scroller').getAttribute('aria-label'));
    await ana.locator('#scroller').focus();
    const before = await ana.locator('#scroller').evaluate((el) => el.scrollTop);
    await ana.keyboard.press('PageUp');
    await ana.waitForFunction((top) => document.querySelector('#scroller').scrollTop < top, before);
    // Scrolling up to the top loads the older page; no button press needed.
    await ana.mouse.move(500, 300);
    for (let i = 0; i < 20 && !(await ana.evaluate(() => document.querySelector('#scroller').scrollTop === 0)); i++) {
      await ana.mouse.wheel(0, -2000);
    }
    await waitForText(ana, 'm0');
    const texts = await ana.$$eval('#messages .message .text', (els) => els.map((e) => e.textContent));
    assert.deepEqual(texts, Array.from({ length: 80 }, (_, i) => `m${i}`));
    await ana.context().close();
  });

  test('a message that cannot be sent says why', async () => {
    const ana = await newPage(browser);
    await signIn(ana, server.url, 'ana', 'refusals');
    const reason = ana.locator('#composer-reason');
    await send(ana, '   ');
    await ana.waitForFunction(() => /only spaces/.test(document.querySelector('#composer-reason').textContent));
    assert.equal(await ana.locator('#messages .message').count(), 0, 'nothing was sent');
    await ana.locator('#composer-text').fill('x'.repeat(4010));
    await ana.locator('#send').click();
    await ana.waitForFunction(() => /Too long to send: 4010 characters, 10 over the limit of 4000/.test(document.querySelector('#composer-reason').textContent));
    assert.equal(await ana.locator('#composer-text').inputValue(), 'x'.repeat(4010), 'the text stays to be shortened');
    await screenshot(ana, 'refused-too-long');
    await ana.locator('#composer-text').press('Backspace');
    assert.equal((await reason.textContent()).trim(), '', 'editing clears the reason');
    assert.equal(await ana.locator('#messages .message').count(), 0);
    await ana.context().close();
  });
});

describe('themes', () => {
  test('formatted messages in light and dark theme (screenshots in e2e/artifacts)', async () => {
    const token = await apiToken(server.url, 'bo');
    const room = 'looks';
    await apiPost(server.url, token, room, 'Release notes are **out**: https://example.invalid/notes, *please* read them.');
    await apiPost(server.url, token, room, '> Did the `migrate` step run?\nYes, with this:');
    await apiPost(server.url, token, room, '```sh\nhearth serve --bind 0.0.0.0:8989 --data /var/lib/hearth\n```');
    for (const scheme of ['light', 'dark']) {
      const page = await newPage(browser, { width: 1100, height: 700 }, scheme);
      await signIn(page, server.url, `ana-${scheme}`, room);
      await waitForPart(page, 'hearth serve');
      await screenshot(page, `formatting-${scheme}`);
      await page.context().close();
    }
    // On a phone the code block scrolls inside itself; the page does not.
    const phone = await newPage(browser, { width: 360, height: 740 });
    await signIn(phone, server.url, 'ana-phone', room);
    await waitForPart(phone, 'hearth serve');
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    assert.ok(await phone.locator('#messages pre').evaluate((el) => el.scrollWidth > el.clientWidth));
    await screenshot(phone, 'formatting-phone-360');
    await phone.context().close();
  });
});

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

/** What markdown-dom.js may put inside a message's text (its ALLOWED). */
const ALLOWED = ['STRONG', 'EM', 'CODE', 'A', 'BLOCKQUOTE', 'DIV', 'PRE', 'BUTTON'];

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
      assert.deepEqual(found.tags.filter((t) => !ALLOWED.includes(t)), []);
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
  });
});

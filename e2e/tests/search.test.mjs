// Search in the web client, in real headless Chromium against a real
// `hearth serve` (protocol v1.1 "search"): Ctrl+K focuses the box, a
// search ignores case and accents and finds CJK substrings, "This room"
// leaves other rooms out, "More results" pages, an empty search says so,
// and a result far back in history (beyond the first page) opens in
// place: its room shows it, in view and highlighted.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  apiPost, apiToken, launchBrowser, newPage, screenshot, signIn, startServer, waitForText,
} from '../support.mjs';

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

const TARGET = 'Le café de Zoë est prêt: 今天天气很好';
const FILLERS = 80;

const results = (page) => page.$$eval('#search-results .search-result', (els) => els.map((el) => ({
  id: el.dataset.id, room: el.dataset.room, marks: [...el.querySelectorAll('mark')].map((m) => m.textContent),
})));

async function search(page, q) {
  await page.locator('#search-input').fill(q);
  await page.locator('#search-input').press('Enter');
  await page.waitForFunction(() => {
    const status = document.querySelector('#search-status')?.textContent || '';
    return status && status !== 'Searching…';
  });
}

describe('search', () => {
  test('finds messages in this room or all rooms and opens one far back in place', async () => {
    const bo = await apiToken(server.url, 'bo');
    const target = await apiPost(server.url, bo, 'general', TARGET);
    await apiPost(server.url, bo, 'other', 'Another CAFE, in another room');
    for (let i = 1; i <= FILLERS; i += 1) await apiPost(server.url, bo, 'general', `filler ${i}`);

    const ana = await newPage(browser);
    await signIn(ana, server.url, 'ana');
    await waitForText(ana, `filler ${FILLERS}`);
    await ana.locator('#search-form').waitFor({ state: 'visible' });
    assert.equal(await ana.locator(`#messages .message[data-id="${target.id}"]`).count(), 0,
      'the target is beyond the first page');

    // Ctrl+K from the composer focuses the box.
    await ana.locator('#composer-text').focus();
    await ana.keyboard.press('Control+k');
    assert.equal(await ana.evaluate(() => document.activeElement?.id), 'search-input');

    // This room (the default): case and accents ignored; other rooms left out.
    await search(ana, 'CAFE');
    let found = await results(ana);
    assert.deepEqual(found.map((r) => [r.id, r.room, r.marks]), [[target.id, 'general', ['café']]]);
    assert.equal(await ana.locator('#search-status').textContent(), '1 message in #general, newest first.');

    // All rooms (the same words again): the other room's message too, newest first.
    await ana.locator('#search-scope').selectOption('all');
    await ana.waitForFunction(() => document.querySelectorAll('#search-results .search-result').length === 2);
    found = await results(ana);
    assert.deepEqual(found.map((r) => [r.room, r.marks]), [['other', ['CAFE']], ['general', ['café']]]);

    // Every term must match, each is marked.
    await search(ana, 'cafe ZOE');
    found = await results(ana);
    assert.deepEqual(found.map((r) => [r.id, r.marks]), [[target.id, ['café', 'Zoë']]]);

    // A CJK substring.
    await search(ana, '天气');
    found = await results(ana);
    assert.deepEqual(found.map((r) => [r.id, r.marks]), [[target.id, ['天气']]]);

    // Nothing found says so.
    await search(ana, 'zebra');
    assert.equal(await ana.locator('#search-status').textContent(), 'No messages match “zebra”.');
    assert.equal(await ana.locator('#search-results .search-result').count(), 0);
    await ana.locator('#room-heading').click({ position: { x: 10, y: 10 } }); // a click elsewhere closes the panel
    assert.equal(await ana.locator('#search-panel').isHidden(), true);

    // Paging: 20, then 20 more, with the older ones after.
    await search(ana, 'filler');
    assert.equal((await results(ana)).length, 20);
    assert.equal(await ana.locator('#search-more').isVisible(), true);
    await ana.locator('#search-more').click();
    await ana.waitForFunction(() => document.querySelectorAll('#search-results .search-result').length === 40);
    const texts = await ana.$$eval('#search-results .search-text', (els) => els.map((el) => el.textContent));
    assert.equal(texts[0], `filler ${FILLERS}`);
    assert.equal(texts[39], `filler ${FILLERS - 39}`);

    // Escape closes the panel and gives focus back.
    await ana.locator('#search-input').focus();
    await ana.keyboard.press('Escape');
    assert.equal(await ana.locator('#search-panel').isHidden(), true);

    // Keyboard only: the box, Enter, ArrowDown to the result, Enter opens it in place.
    await ana.keyboard.press('Control+k');
    await ana.keyboard.type('prêt 天气');
    await ana.keyboard.press('Enter');
    await ana.locator('#search-results .search-result').first().waitFor();
    await screenshot(ana, 'search-results');
    await ana.keyboard.press('ArrowDown');
    assert.equal(await ana.evaluate(() => document.activeElement?.dataset.id), target.id);
    await ana.keyboard.press('Enter');
    const shown = ana.locator(`#messages .message.flash[data-id="${target.id}"]`);
    await shown.waitFor({ timeout: 10_000 });
    assert.equal(await ana.locator('#search-panel').isHidden(), true);
    const inView = await ana.evaluate((id) => {
      const el = document.querySelector(`#messages .message[data-id="${id}"]`);
      const box = el.getBoundingClientRect();
      const port = document.querySelector('#scroller').getBoundingClientRect();
      return box.top >= port.top && box.bottom <= port.bottom;
    }, target.id);
    assert.equal(inView, true, 'the opened message is in view');
    assert.equal(await ana.evaluate(() => document.activeElement?.classList.contains('message')), true);
    await screenshot(ana, 'search-opened');

    // Everything between it and the newest is there, in order, once.
    const ids = await ana.$$eval('#messages .message:not(.pending) .text', (els) => els.map((e) => e.textContent));
    const at = ids.indexOf(TARGET);
    assert.deepEqual(ids.slice(at), [TARGET, ...Array.from({ length: FILLERS }, (_, i) => `filler ${i + 1}`)]);

    // A result in another room opens that room.
    await ana.keyboard.press('Control+k');
    await ana.locator('#search-scope').selectOption('all');
    await search(ana, 'another cafe');
    await ana.locator('#search-results .search-result[data-room="other"]').click();
    await ana.waitForURL(/\/r\/other$/);
    await ana.locator('#messages .message.flash').waitFor({ timeout: 10_000 });
    assert.deepEqual(ana.consoleErrors, []);
  });
});

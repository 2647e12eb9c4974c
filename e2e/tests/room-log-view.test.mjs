// The room log's display (protocol v1.1: edit, delete, reaction, typing;
// reply_to, reactions, mentions, edited_ts) in real headless Chromium.
//
// The server in main does not send these events yet, so this test feeds
// them: the page, its sign-in, room list and transport are the real ones
// against a real `hearth serve`, but the page's request for the event
// stream (`GET /api/events`) is answered by the test (Playwright's
// `page.route`) with a synthetic SSE body. No hook in the client: the
// events go through the same parser, transport and controller as a
// server's would.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, newPage, screenshot, startServer } from '../support.mjs';

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

const now = Date.now();
const ts = (minutesAgo) => new Date(now - minutesAgo * 60_000).toISOString();
const message = (id, nick, text, extra = {}) => ({ id, room: 'general', nick, text, ts: ts(10 - Number(id.slice(1))), client_id: null, ...extra });

/** An SSE body: [event, data, id?] triples. */
function sse(events) {
  let body = 'retry: 2000\n\n';
  for (const [event, data, id] of events) {
    if (id) body += `id: ${id}\n`;
    body += `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  }
  return body;
}

const m1 = message('m1', 'bo', 'first');
const m2 = message('m2', 'cy', 'hey @ana look', { mentions: ['ana'] });
const m3 = message('m3', 'bo', 'answering', { reply_to: { id: 'm1', nick: 'bo', text: 'first' } });
const m4 = message('m4', 'cy', 'oops, wrong room');
const m5 = message('m5', 'cy', 'replayed as it is now', {
  edited_ts: ts(1), reactions: { '🎉': ['bo'] },
});
const m6 = message('m6', 'bo', 'about that', { reply_to: { id: 'm4', nick: 'cy', text: 'oops, wrong room' } });
const m7 = message('m7', 'cy', 'and this one?', { reply_to: { id: 'm0', nick: 'cy', text: 'an old one' } });
const m8 = message('m8', 'bo', 'done typing');

/** The first connection: a fresh replay, `ready`, presence, then live log events. */
const FIRST = sse([
  ['message', m1, 'c1'],
  ['message', m2, 'c2'],
  ['message', m3, 'c3'],
  ['message', m4, 'c4'],
  ['message', m5, 'c5'],
  ['ready', { room: 'general', resumed: false, last_id: 'm5' }],
  ['presence', { room: 'general', online: ['ana', 'bo', 'cy'] }],
  ['message', m6, 'c6'],
  ['message', m7, 'c7'],
  ['edit', { ...m1, text: 'first, fixed', edited_ts: ts(0) }, 'c8'],
  ['reaction', { room: 'general', id: 'm2', emoji: '👍', nick: 'bo', added: true }, 'c9'],
  ['reaction', { room: 'general', id: 'm2', emoji: '👍', nick: 'ana', added: true }, 'c10'],
  ['reaction', { room: 'general', id: 'm2', emoji: '👍', nick: 'ana', added: true }, 'c11'],
  ['reaction', { room: 'general', id: 'nope', emoji: '👍', nick: 'ana', added: true }, 'c12'],
  ['delete', { room: 'general', id: 'm4' }, 'c13'],
  ['pin', { room: 'general', id: 'm1' }, 'c14'],
  ['typing', { room: 'general', nick: 'ana' }],
  ['typing', { room: 'general', nick: 'bo' }],
]);

/** The second connection (a resume): bo's message ends bo's typing; a deletion. */
const SECOND = sse([
  ['message', m8, 'c15'],
  ['delete', { room: 'general', id: 'm2' }, 'c16'],
  ['ready', { room: 'general', resumed: true, last_id: 'm8' }],
]);

/** Routes the page's event stream: FIRST, then SECOND when `release()` is called, then holds. */
async function feedStream(page) {
  let release;
  const second = new Promise((resolve) => {
    release = resolve;
  });
  const held = [];
  let n = 0;
  await page.route(/\/api\/events\?/, async (route) => {
    n += 1;
    const reply = (body) => route.fulfill({ status: 200, headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' }, body });
    if (n === 1) return reply(FIRST);
    if (n === 2) {
      await second;
      return reply(SECOND);
    }
    held.push(route); // later reconnects wait until the test ends
    return undefined;
  });
  return {
    release: () => release(),
    end: () => Promise.all(held.map((r) => r.abort().catch(() => {}))),
  };
}

const item = (page, id) => page.locator(`#messages .message[data-id="${id}"]`);

describe('the room log on screen (synthetic stream)', () => {
  test('edits, deletions, reactions, replies, mentions and typing show as they arrive', async () => {
    const page = await newPage(browser);
    const stream = await feedStream(page);
    await page.goto(`${server.url}/r/general`);
    await page.locator('#nick').fill('ana');
    await page.locator('#signin-submit').click();
    await page.locator('#app').waitFor({ state: 'visible' });
    await page.locator('#typing:not([hidden])').waitFor({ timeout: 15000 });

    // Edited live: new text in place, "(edited)" with the time in its title.
    assert.equal(await item(page, 'm1').locator('.text').textContent(), 'first, fixed');
    assert.match(await item(page, 'm1').locator('.edited').getAttribute('title'), /^Edited /);
    assert.deepEqual(await page.$$eval('#messages .message[data-id]', (els) => els.map((e) => e.dataset.id)),
      ['m1', 'm2', 'm3', 'm5', 'm6', 'm7'], 'm4 deleted live; order kept');

    // Reactions: one chip, counted once per nick, who reacted in its title and text.
    const chip = item(page, 'm2').locator('.reaction');
    assert.equal(await chip.count(), 1);
    assert.equal(await chip.locator('.emoji').textContent(), '👍');
    assert.equal(await chip.locator('.count').textContent(), '2');
    assert.equal(await chip.getAttribute('title'), 'You and bo reacted with 👍');
    assert.equal(await chip.locator('.sr-only').textContent(), 'You and bo reacted with 👍');
    assert.match(await chip.getAttribute('class'), /\bmine\b/);

    // A fresh replay's message carries its current state.
    assert.equal(await item(page, 'm5').locator('.edited').count(), 1);
    assert.equal(await item(page, 'm5').locator('.reaction .count').textContent(), '1');

    // Mentions: highlighted, and said for screen readers.
    assert.match(await item(page, 'm2').getAttribute('class'), /\bmention\b/);
    assert.equal(await item(page, 'm1').locator('.sr-only').count(), 0);
    assert.doesNotMatch(await item(page, 'm1').getAttribute('class'), /\bmention\b/);

    // Replies: the quote; a deleted original's text is not shown.
    assert.equal(await item(page, 'm3').locator('.reply-quote .reply-nick').textContent(), 'bo');
    assert.equal(await item(page, 'm3').locator('.reply-quote .reply-text').textContent(), 'first');
    assert.equal(await item(page, 'm6').locator('.reply-quote .reply-text').textContent(), 'Deleted message');

    // Typing: bo (not the reader's own event).
    assert.equal(await page.locator('#typing').textContent(), 'bo is typing…');

    // Clicking a quote scrolls to the original, focuses and highlights it.
    await item(page, 'm3').locator('.reply-quote').click();
    assert.match(await item(page, 'm1').getAttribute('class'), /\bflash\b/);
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.id), 'm1');
    await page.waitForFunction(() => !document.querySelector('#messages .flash'), null, { timeout: 5000 });

    // A quote of a message not loaded says so.
    await item(page, 'm7').locator('.reply-quote').click();
    await page.locator('#notice', { hasText: 'The original message is not loaded' }).waitFor();

    // Phone size, both themes.
    await page.setViewportSize({ width: 360, height: 740 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, 'nothing wider than a 360 px phone');
    await screenshot(page, 'room-log-phone-light');
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'room-log-phone-dark');

    // The next connection: bo's message ends bo's typing; m2 deleted.
    stream.release();
    await item(page, 'm8').waitFor({ timeout: 15000 });
    await page.locator('#typing').waitFor({ state: 'hidden' });
    await item(page, 'm2').waitFor({ state: 'detached' });
    assert.deepEqual(page.consoleErrors, []);
    await stream.end();
    await page.context().close();
  });
});

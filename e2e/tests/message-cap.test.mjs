// The message list's cap (ui/cap-rules.js) in real headless Chromium
// against a real `hearth serve`: a busy room keeps at most MAX_MESSAGES
// messages on the page while the reader follows it at the bottom; the
// dropped ones come back, in order, by scrolling up; a reader scrolled up
// is not moved by new messages, and the list shrinks back once they
// return to the bottom.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { MAX_MESSAGES } from '../../ui/cap-rules.js';
import {
  apiPost, apiToken, launchBrowser, newPage, shownTexts, signIn, startServer, waitForText,
} from '../support.mjs';

const ROOM = 'busy';
const TOTAL = MAX_MESSAGES + 100; // a long day: more than the cap, more than one page over it
const text = (i) => `message ${i}`;
const texts = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => text(from + i));

let browser;
let server;
before(async () => {
  browser = await launchBrowser();
  // The seeding below posts faster than a person may.
  server = await startServer({ args: ['--post-burst', '1000', '--post-rate', '1000', '--ip-post-burst', '1000', '--ip-post-rate', '1000'] });
});
after(async () => {
  await server?.stop();
  await browser?.close();
});

/** Posts a reply over the API; returns the stored message. */
async function apiReply(token, body, replyTo) {
  const response = await fetch(`${server.url}/api/rooms/${ROOM}/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ text: body, client_id: crypto.randomUUID(), reply_to: replyTo }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return response.json();
}

/** What the list shows: stored messages, separators, groups. */
function listShape(page) {
  return page.$eval('#messages', (list) => ({
    stored: list.querySelectorAll(':scope > .message[data-id]').length,
    firstIsDaySep: list.firstElementChild?.matches('h3.day-sep') ?? false,
    daySeps: list.querySelectorAll(':scope > .day-sep').length,
    // One author in a few minutes: one group, whose first message shows the nick.
    groupStarts: [...list.querySelectorAll(':scope > .message[data-id]:not(.cont)')].map((m) => m.querySelector('.text')?.textContent),
  }));
}

/** Where `wanted`'s text is on screen (px from the viewport's top). */
function topOf(page, wanted) {
  return page.evaluate((t) => {
    const el = [...document.querySelectorAll('#messages .message .text')].find((e) => e.textContent === t);
    return el.getBoundingClientRect().top;
  }, wanted);
}

describe('a busy room', () => {
  test('holds at most the cap at the bottom, pages back in order, never moves a reader scrolled up', async () => {
    const ana = await newPage(browser);
    await signIn(ana, server.url, 'ana', ROOM);
    const token = await apiToken(server.url, 'bo');

    // A long day while ana follows at the bottom.
    const posted = [];
    for (let i = 1; i <= TOTAL; i++) posted.push(await apiPost(server.url, token, ROOM, text(i)));
    await waitForText(ana, text(TOTAL));
    await ana.waitForFunction((cap) => document.querySelectorAll('#messages > .message[data-id]').length <= cap, MAX_MESSAGES);
    assert.deepEqual(await shownTexts(ana), texts(TOTAL - MAX_MESSAGES + 1, TOTAL), 'the newest, in order');
    let shape = await listShape(ana);
    assert.equal(shape.stored, MAX_MESSAGES);
    assert.equal(shape.firstIsDaySep, true, 'the day separator stays at the top');
    assert.equal(shape.daySeps, 1);
    assert.deepEqual(shape.groupStarts, [text(TOTAL - MAX_MESSAGES + 1)], 'the first message kept starts the group');
    assert.equal(await ana.locator('#load-older').isVisible(), true, 'the dropped ones can be loaded again');

    // A reply to a message no longer on the page: its quote says so.
    await apiReply(token, 'about the first one', posted[0].id);
    await waitForText(ana, 'about the first one');
    assert.equal(await ana.locator('#messages > .message[data-id]').count(), MAX_MESSAGES);
    await ana.locator('#messages .reply-quote').last().click();
    await ana.locator('#notice', { hasText: 'The original message is not loaded' }).waitFor();

    // Scrolling up to the top brings them back, page by page, in order.
    while (!(await shownTexts(ana)).includes(text(1))) {
      const first = (await shownTexts(ana))[0];
      await ana.locator('#scroller').evaluate((s) => { s.scrollTop = 0; });
      await ana.waitForFunction((was) => document.querySelector('#messages .message:not(.pending) .text').textContent !== was, first);
    }
    assert.deepEqual(await shownTexts(ana), [...texts(1, TOTAL), 'about the first one']);
    assert.equal(await ana.locator('#load-older').isVisible(), false, 'nothing older');

    // Reading at the top while the room goes on: nothing moves, nothing goes.
    await ana.locator('#scroller').evaluate((s) => { s.scrollTop = 0; });
    const before = await topOf(ana, text(2));
    await apiPost(server.url, token, ROOM, 'while ana reads');
    await ana.locator('#jump-new').waitFor({ state: 'visible' });
    await waitForText(ana, 'while ana reads');
    assert.equal(await topOf(ana, text(2)), before, 'what ana reads stays put');
    assert.equal(await ana.locator('#messages > .message[data-id]').count(), TOTAL + 2, 'nothing dropped while scrolled up');

    // Back at the bottom: down to the cap again, the newest in order.
    await ana.locator('#jump-new').click();
    await ana.waitForFunction((cap) => document.querySelectorAll('#messages > .message[data-id]').length <= cap, MAX_MESSAGES);
    const shown = await shownTexts(ana);
    assert.equal(shown.length, MAX_MESSAGES);
    assert.deepEqual(shown.slice(-2), ['about the first one', 'while ana reads']);
    assert.equal(shown[0], text(TOTAL + 2 - MAX_MESSAGES + 1));
    shape = await listShape(ana);
    assert.equal(shape.firstIsDaySep, true);
    assert.equal(shape.groupStarts[0], shown[0]);
    assert.equal(await ana.locator('#load-older').isVisible(), true);
    assert.deepEqual(ana.consoleErrors, []);
    await ana.context().close();
  });
});

// The room log's actions (protocol v1.1) in real headless Chromium against a
// real `hearth serve`, two people in one room: reply, edit (the Edit action
// and Up-arrow), delete with its inline confirmation, reactions (picker,
// any emoji, toggling a chip), the typing line, @ completion, mention
// highlight and the room list's mention badge, and refused actions.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, newPage, screenshot, send, shownTexts, signIn, startServer, waitForText } from '../support.mjs';


let browser;
let server;
let ana;
let bo;
before(async () => {
  browser = await launchBrowser();
  server = await startServer({ args: ['--post-burst', '1000', '--ip-post-burst', '1000'] });
  ana = await newPage(browser);
  bo = await newPage(browser);
  await signIn(ana, server.url, 'ana');
  await signIn(bo, server.url, 'bo');
});
after(async () => {
  await server?.stop();
  await browser?.close();
});

/** The stored message whose text is exactly `text`. */
const message = (page, text) => page.locator('#messages .message[data-id]')
  .filter({ has: page.locator('.text').getByText(text, { exact: true }) });

/** Opens a message's action panel from the keyboard: focus the message, then its menu button. */
async function openMenu(page, text) {
  const el = message(page, text);
  await el.focus();
  await el.locator('.msg-menu').focus();
  await el.locator('.msg-menu').press('Enter');
  await el.locator('.msg-panel').waitFor();
  return el;
}

describe('the room log\'s actions', () => {
  test('actions are offered (the server has the log)', async () => {
    await send(ana, 'welcome to the log');
    await waitForText(bo, 'welcome to the log');
    assert.equal(await message(bo, 'welcome to the log').locator('.msg-menu').count(), 1);
    const el = message(bo, 'welcome to the log');
    await el.focus();
    await el.press('Enter'); // Enter on a focused message opens its actions
    await el.locator('.msg-panel').waitFor();
    assert.equal(await el.locator('.act-reply').count(), 1);
    assert.equal(await el.locator('.act-react').count(), 1);
    assert.equal(await el.locator('.act-edit').count(), 0, 'not bo\'s message: no Edit');
    assert.equal(await el.locator('.act-delete').count(), 0, 'not bo\'s message: no Delete');
    await el.locator('.act-reply').press('Escape');
    assert.equal(await el.locator('.msg-panel').count(), 0);
  });

  test('reply: the quote over the composer, cancel, and the other sees the quote', async () => {
    await send(ana, 'the original question');
    await waitForText(bo, 'the original question');
    let el = await openMenu(bo, 'the original question');
    await el.locator('.act-reply').click();
    const mode = bo.locator('#composer-mode');
    await mode.waitFor();
    assert.match(await mode.textContent(), /Replying to ana: the original question/);
    await bo.locator('#composer-text').press('Escape');
    await mode.waitFor({ state: 'hidden' });

    el = await openMenu(bo, 'the original question');
    await el.locator('.act-reply').click();
    await bo.locator('#composer-text').fill('the answer');
    await bo.locator('#composer-text').press('Enter');
    await mode.waitFor({ state: 'hidden' });
    await waitForText(ana, 'the answer');
    const quote = message(ana, 'the answer').locator('.reply-quote');
    assert.match(await quote.textContent(), /ana\s+the original question/);
    // Enough messages to scroll the original away, then the quote brings it back.
    for (let i = 0; i < 25; i++) await send(bo, `filler ${i}`);
    await waitForText(ana, 'filler 24');
    await message(ana, 'the answer').scrollIntoViewIfNeeded();
    await quote.click();
    await ana.locator('#messages .message.flash').filter({ hasText: 'the original question' }).waitFor();
    assert.equal(await message(ana, 'the original question').isVisible(), true);
  });

  test('edit: the Edit action and Up-arrow; the other sees "(edited)"; text rules as posting', async () => {
    await send(bo, 'a mesage with a typo');
    await waitForText(ana, 'a mesage with a typo');
    const box = bo.locator('#composer-text');
    await box.fill('');
    await box.press('ArrowUp');
    assert.equal(await box.inputValue(), 'a mesage with a typo');
    assert.match(await bo.locator('#composer-mode').textContent(), /Editing/);
    await box.fill('   ');
    await box.press('Enter');
    assert.match(await bo.locator('#composer-reason').textContent(), /only spaces/);
    const max = await bo.evaluate(async () => (await (await fetch('/api/info')).json()).max_text_chars);
    await box.fill('x'.repeat(max + 1));
    await box.press('Enter');
    assert.match(await bo.locator('#composer-reason').textContent(), /Too long/);
    await box.fill('a message with a typo, fixed');
    await box.press('Enter');
    await waitForText(ana, 'a message with a typo, fixed');
    await waitForText(bo, 'a message with a typo, fixed');
    assert.equal(await bo.locator('#composer-mode').isHidden(), true);
    assert.equal(await box.inputValue(), '');
    assert.equal(await message(ana, 'a message with a typo, fixed').locator('.edited').textContent(), '(edited)');
    assert.deepEqual((await shownTexts(ana)).filter((t) => t.includes('typo')), ['a message with a typo, fixed']);

    // The Edit action; Escape cancels and gives back what was being typed.
    await box.fill('half a thought');
    const el = await openMenu(bo, 'a message with a typo, fixed');
    await el.locator('.act-edit').click();
    assert.equal(await box.inputValue(), 'a message with a typo, fixed');
    await box.press('Escape');
    assert.equal(await box.inputValue(), 'half a thought');
    await box.fill('');
  });

  test('delete: asks inline, then it goes for both, and stays gone after a reload', async () => {
    await send(ana, 'a regrettable message');
    await waitForText(bo, 'a regrettable message');
    let el = await openMenu(ana, 'a regrettable message');
    await el.locator('.act-delete').click();
    await el.locator('.cancel-delete').click();
    assert.equal(await message(ana, 'a regrettable message').count(), 1, 'Cancel keeps it');
    const reply = await openMenu(bo, 'a regrettable message'); // bo starts a reply to it
    await reply.locator('.act-reply').click();
    await bo.locator('#composer-mode').waitFor();
    el = await openMenu(ana, 'a regrettable message');
    await el.locator('.act-delete').click();
    assert.match(await el.locator('.msg-panel').textContent(), /Delete this message for everyone\?/);
    await el.locator('.confirm-delete').click();
    await message(ana, 'a regrettable message').waitFor({ state: 'detached' });
    await message(bo, 'a regrettable message').waitFor({ state: 'detached' });
    await bo.locator('#composer-mode').waitFor({ state: 'hidden' });
    await bo.locator('#notice').getByText('The message you were replying to was deleted', { exact: false }).waitFor();
    await bo.reload();
    await bo.locator('#connection[data-state="connected"]').waitFor();
    await waitForText(bo, 'a message with a typo, fixed');
    assert.equal((await shownTexts(bo)).includes('a regrettable message'), false);
    assert.deepEqual(ana.dialogs, [], 'no window.confirm');
  });

  test('react: the picker, any emoji, counts, who reacted, toggling a chip', async () => {
    await send(ana, 'react to this');
    await waitForText(bo, 'react to this');
    let el = await openMenu(bo, 'react to this');
    await el.locator('.act-react').click();
    assert.equal(await el.locator('.pick-emoji').count(), 8);
    await el.locator('.pick-emoji', { hasText: '👍' }).click();
    const chip = (page) => message(page, 'react to this').locator('li.reaction[data-emoji="👍"]');
    await chip(ana).waitFor();
    assert.equal(await chip(ana).locator('.count').textContent(), '1');
    assert.equal(await chip(ana).getAttribute('title'), 'bo reacted with 👍');
    await chip(ana).locator('.reaction-toggle').click();
    await ana.waitForFunction(() => document.querySelector('li.reaction[data-emoji="👍"] .count')?.textContent === '2');
    assert.equal(await chip(ana).getAttribute('title'), 'You and bo reacted with 👍');
    assert.equal(await chip(ana).locator('.reaction-toggle').getAttribute('aria-pressed'), 'true');
    await bo.waitForFunction(() => document.querySelector('li.reaction[data-emoji="👍"] .count')?.textContent === '2');
    await chip(ana).locator('.reaction-toggle').click();
    await ana.waitForFunction(() => document.querySelector('li.reaction[data-emoji="👍"] .count')?.textContent === '1');
    await bo.waitForFunction(() => document.querySelector('li.reaction[data-emoji="👍"] .count')?.textContent === '1');

    el = await openMenu(ana, 'react to this');
    await el.locator('.act-react').click();
    await el.locator('.custom-emoji-text').fill('🦀');
    await el.locator('.custom-emoji-text').press('Enter');
    await message(bo, 'react to this').locator('li.reaction[data-emoji="🦀"]').waitFor();
  });

  test('typing: the other sees "ana is typing…"', async () => {
    // The server drops a second typing event within a second (ana's last send pinged too).
    await ana.waitForTimeout(1_200);
    await ana.locator('#composer-text').pressSequentially('hello the');
    await bo.locator('#typing').getByText('ana is typing…').waitFor();
    await ana.locator('#composer-text').fill('');
  });

  test('mentions: @ completion, the highlight, the room list\'s mention badge', async () => {
    const box = bo.locator('#composer-text');
    await box.fill('');
    await box.pressSequentially('look @a');
    const list = bo.locator('#mention-list');
    await list.waitFor();
    assert.deepEqual(await list.locator('li').allTextContents(), ['@ana']);
    await box.press('Escape');
    await list.waitFor({ state: 'hidden' });
    await box.pressSequentially('n');
    await list.waitFor();
    await box.press('Tab');
    assert.equal(await box.inputValue(), 'look @ana ');
    await box.pressSequentially('here');
    await box.press('Enter');
    await waitForText(ana, 'look @ana here');
    assert.equal(await message(ana, 'look @ana here').evaluate((e) => e.classList.contains('mention')), true);
    assert.equal(await message(bo, 'look @ana here').evaluate((e) => e.classList.contains('mention')), false);

    // ana elsewhere: a mention in #general shows as a mention badge, apart from unread.
    // (The server knows ana in #general as an author there, not only while online there.)
    await ana.locator('#new-room-name').fill('elsewhere');
    await ana.locator('#new-room-name').press('Enter');
    await ana.locator('#room-title').getByText('elsewhere').waitFor();
    await send(bo, 'no mention here');
    await send(bo, 'again @ana');
    const general = ana.locator('li.room[data-room="general"]');
    await ana.waitForFunction(() => {
      const li = document.querySelector('li.room[data-room="general"]');
      return li?.querySelector('.unread').textContent === '2' && !li.querySelector('.mentions').hidden;
    }, null, { timeout: 10000 }).catch(async (err) => {
      console.log(await general.innerHTML());
      throw err;
    });
    assert.equal(await general.locator('.mentions').textContent(), '@1');
    await general.locator('.room-link').click();
    await ana.locator('#room-title').getByText('general').waitFor();
    await general.locator('.mentions').waitFor({ state: 'hidden' });
  });

  test('a refused action shows why, and nothing changes', async () => {
    await send(ana, 'refuse my edit');
    await waitForText(ana, 'refuse my edit');
    await ana.route('**/api/rooms/general/messages/*', (route) => (route.request().method() === 'PATCH'
      ? route.fulfill({ status: 403, contentType: 'application/json', body: JSON.stringify({ error: 'You may only edit your own messages.' }) })
      : route.continue()));
    const box = ana.locator('#composer-text');
    await box.fill('');
    await box.press('ArrowUp');
    await box.fill('refused text');
    await box.press('Enter');
    await ana.locator('#notice').getByText('Not edited: You may only edit your own messages.').waitFor();
    assert.equal(await message(ana, 'refuse my edit').count(), 1);
    assert.equal(await box.inputValue(), 'refused text', 'kept to try again');
    await ana.unroute('**/api/rooms/general/messages/*');
    await box.press('Escape');
    assert.deepEqual(ana.consoleErrors, []);
    assert.deepEqual(bo.consoleErrors, []);
  });

  test('a conversation with a reply, an edit, reactions and a code block (screenshots)', async () => {
    const server2 = await startServer();
    try {
      const pages = [];
      for (const scheme of ['light', 'dark']) {
        const a = await newPage(browser, { width: 900, height: 640 }, scheme);
        pages.push(a);
        await signIn(a, server2.url, scheme === 'light' ? 'ana' : 'cy');
      }
      const [a, c] = pages;
      await send(a, 'Morning! The build is green again.');
      await waitForText(c, 'Morning! The build is green again.');
      let el = await openMenu(c, 'Morning! The build is green again.');
      await el.locator('.act-reply').click();
      await send(c, 'Nice. What was wrong? 🎉');
      await waitForText(a, 'Nice. What was wrong? 🎉');
      await send(a, 'A stale lock file:\n```\nrm target/.lock\ncargo build\n```');
      await send(a, 'Deploying at 3pm, shout if that is a problem');
      await waitForText(a, 'Deploying at 3pm, shout if that is a problem');
      await a.locator('#composer-text').press('ArrowUp');
      await a.locator('#composer-text').fill('Deploying at 4pm, shout if that is a problem');
      await a.locator('#composer-text').press('Enter');
      await waitForText(c, 'Deploying at 4pm, shout if that is a problem');
      for (const [page, text, emoji] of [[c, 'Deploying at 4pm, shout if that is a problem', '👍'],
        [a, 'Nice. What was wrong? 🎉', '😂'], [c, 'Morning! The build is green again.', '❤️']]) {
        el = await openMenu(page, text);
        await el.locator('.act-react').click();
        await el.locator('.pick-emoji', { hasText: emoji }).click();
      }
      await a.waitForFunction(() => document.querySelectorAll('#messages li.reaction').length === 3);
      await c.waitForFunction(() => document.querySelectorAll('#messages li.reaction').length === 3);
      await a.locator('#composer-text').focus();
      await a.mouse.move(0, 0);
      // The README's picture: copied by hand from e2e/artifacts/conversation.png.
      await screenshot(a, 'conversation');
      await screenshot(c, 'room-log-dark');
      el = await openMenu(c, 'Morning! The build is green again.');
      await el.locator('.act-react').click();
      await screenshot(c, 'room-log-dark-picker');
      // A 360 px touch phone: the menu buttons show without hover, and a tap opens the panel.
      const touch = await browser.newContext({ viewport: { width: 360, height: 700 }, hasTouch: true, isMobile: true });
      const phone = await touch.newPage();
      await signIn(phone, server2.url, 'dee');
      el = message(phone, 'Nice. What was wrong? 🎉');
      assert.ok(await el.locator('.msg-menu').evaluate((b) => Number(getComputedStyle(b).opacity) > 0.5), 'visible without hover');
      const cont = message(phone, 'Deploying at 4pm, shout if that is a problem');
      assert.equal(await cont.evaluate((e) => e.classList.contains('cont')), true);
      const contMenu = await cont.locator('.msg-menu').boundingBox();
      assert.ok(contMenu && contMenu.width > 20 && contMenu.x + contMenu.width <= 360, 'a continued message has its button too');
      await el.locator('.msg-menu').tap();
      await el.locator('.msg-panel').waitFor();
      assert.equal(await el.locator('.act-reply').isVisible(), true);
      const box = await el.locator('.msg-panel').boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= 360, 'the panel fits a 360 px screen');
      await screenshot(phone, 'room-log-phone');
    } finally {
      await server2.stop();
    }
  });
});

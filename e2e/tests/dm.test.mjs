// Direct messages in the web client, in real headless Chromium against a
// real `hearth serve` (protocol v1.1 "dm"): ana and bo (both protected)
// message each other from the online list; the DM is listed apart with the
// other nick, online state and unread counted like a mention; cy, a third
// person, sees nothing of it (not listed, its history is 404 for her), and
// ana messaging cy (not protected) is told why not, readably. Screenshots
// in light and dark, and at a 360-px phone width.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  launchBrowser, newPage, screenshot, send, startServer, waitConnected, waitForText,
} from '../support.mjs';

let browser;
let server;
before(async () => {
  browser = await launchBrowser();
  server = await startServer({ args: ['--password-backoff', '0s'] });
});
after(async () => {
  await server?.stop();
  await browser?.close();
});

/** Signs in as `nick`, protecting it with `nickPassword` when given. */
async function signInAs(page, nick, nickPassword = '') {
  await page.goto(`${server.url}/r/general`);
  await page.locator('#nick').fill(nick);
  if (nickPassword) {
    await page.locator('#protect-nick').check();
    await page.locator('#nick-password').fill(nickPassword);
  }
  await page.locator('#signin-submit').click();
  await page.locator('#app').waitFor({ state: 'visible' });
  await waitConnected(page);
}

/** Opens the menu of `nick` in the online list and presses "Message". */
async function messageFromOnlineList(page, nick) {
  await page.locator(`#online li.person[data-nick="${nick}"] button.person-btn`).click();
  await page.locator('#online .person-menu .act-message').click();
}

const roomNames = (page) => page.$$eval('#room-list li.room', (els) => els.map((e) => e.dataset.room));

describe('direct messages', () => {
  test('ana and bo talk privately; cy sees nothing of it', async () => {
    const ana = await newPage(browser);
    const bo = await newPage(browser, undefined, 'dark');
    const cy = await newPage(browser);
    await signInAs(ana, 'ana', 'ana-secret-42');
    await signInAs(bo, 'bo', 'bo-secret-42');
    await signInAs(cy, 'cy');

    // ana's nick is protected: a lock by it says so.
    const lock = ana.locator('#me-lock');
    await lock.waitFor({ state: 'visible' });
    assert.match(await lock.getAttribute('title'), /ana is protected/);
    assert.equal(await cy.locator('#me-lock').isVisible(), false);

    // ana messages bo from the online list.
    await ana.locator('#online li.person[data-nick="bo"]').waitFor();
    await ana.locator('#online li.person[data-nick="cy"]').waitFor();
    await messageFromOnlineList(ana, 'bo');
    const anaDm = ana.locator('#dm-list li.dm[data-nick="bo"]');
    await anaDm.waitFor();
    await ana.locator('#room-title', { hasText: /^bo$/ }).waitFor();
    const dmRoom = await anaDm.getAttribute('data-room');
    assert.match(dmRoom, /^dm-[0-9a-f]+$/);
    assert.equal(new URL(ana.url()).pathname, `/r/${dmRoom}`);
    assert.equal(await anaDm.locator('.room-name').textContent(), 'bo', 'the other nick, not the dm- name');
    assert.equal(await ana.locator('#dm-title').textContent(), 'Direct messages');
    assert.ok(!(await roomNames(ana)).includes(dmRoom), 'DMs are apart from rooms');
    assert.equal(await ana.locator('#composer-text').getAttribute('placeholder'), 'Message bo');
    await send(ana, 'psst bo, lunch at noon?');
    await waitForText(ana, 'psst bo, lunch at noon?');

    // bo, still in #general, sees the DM listed with ana's nick, online, and unread like a mention.
    const boDm = bo.locator(`#dm-list li.dm[data-room="${dmRoom}"]`);
    await boDm.waitFor();
    assert.equal(await boDm.getAttribute('data-nick'), 'ana');
    await boDm.locator('.presence[data-online="true"]').waitFor();
    await boDm.locator('.unread.dm-unread:not([hidden])', { hasText: '1' }).waitFor();
    await bo.waitForFunction(() => document.title.startsWith('(1) '));
    await screenshot(bo, 'dm-unread-dark');

    // bo opens it and answers; ana sees the answer.
    await boDm.locator('.room-link').click();
    await bo.locator('#room-title', { hasText: /^ana$/ }).waitFor();
    await waitForText(bo, 'psst bo, lunch at noon?');
    await boDm.locator('.unread[hidden]').waitFor({ state: 'attached' }); // read: no count
    await send(bo, 'yes, see you there');
    await waitForText(ana, 'yes, see you there');
    await screenshot(ana, 'dm');
    // The DM's address reloads into the DM, named by the other nick.
    await ana.reload();
    await waitConnected(ana);
    await ana.locator('#room-title', { hasText: /^bo$/ }).waitFor();
    await waitForText(ana, 'yes, see you there');
    await ana.waitForFunction(() => document.querySelector('#composer-text').placeholder === 'Message bo');

    // cy: not in her list, and the server answers 404 for its history, as for no room.
    await cy.locator('#online li.person').first().waitFor();
    assert.equal(await cy.locator('#dm-list li').count(), 0);
    assert.equal(await cy.locator('#dm-title').isVisible(), false);
    assert.ok(!(await roomNames(cy)).includes(dmRoom));
    const status = await cy.evaluate((room) => fetch(`/api/rooms/${room}/messages`).then((r) => r.status), dmRoom);
    assert.equal(status, 404);
    const listed = await cy.evaluate(() => fetch('/api/rooms').then((r) => r.json()));
    assert.ok(!listed.some((r) => r.room === dmRoom));
    // …and opening its URL leads her back to a room of her own, saying so.
    await cy.goto(`${server.url}/r/${dmRoom}`);
    await cy.locator('#notice', { hasText: 'That conversation does not exist, or is not yours.' }).waitFor();
    await cy.locator('#room-title', { hasText: /^general$/ }).waitFor();
    assert.equal(new URL(cy.url()).pathname, '/r/general');

    // ana messages cy, who has not protected her nick: told why, readably.
    await ana.locator('#room-list li.room[data-room="general"] .room-link').click();
    await ana.locator('#online li.person[data-nick="cy"]').waitFor();
    await messageFromOnlineList(ana, 'cy');
    await ana.locator('#notice', { hasText: 'Cy has not protected their nick, so you cannot message them privately yet.' }).waitFor();
    assert.equal(await ana.locator('#room-title').textContent(), 'general');

    for (const page of [ana, bo, cy]) assert.deepEqual(page.consoleErrors, []);
    await Promise.all([ana, bo, cy].map((page) => page.context().close()));
  });

  test('on a 360-px phone, the DM list is in the rooms drawer', async () => {
    // dee and eve protect their nicks; eve messages dee.
    const eve = await newPage(browser);
    await signInAs(eve, 'eve', 'eve-secret-42');
    const dee = await newPage(browser, { width: 360, height: 740 });
    await signInAs(dee, 'dee', 'dee-secret-42');
    await eve.locator('#online li.person[data-nick="dee"]').waitFor();
    await messageFromOnlineList(eve, 'dee');
    await eve.locator('#room-title', { hasText: /^dee$/ }).waitFor();
    await send(eve, 'hi dee');
    await waitForText(eve, 'hi dee');
    await dee.locator('#unread-total:not([hidden])').waitFor();
    await dee.locator('#toggle-rooms').click();
    const item = dee.locator('#dm-list li.dm[data-nick="eve"]');
    await item.waitFor({ state: 'visible' });
    const box = await item.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 360, 'the item fits the screen');
    await screenshot(dee, 'dm-phone');
    await item.locator('.room-link').click();
    await waitForText(dee, 'hi dee');
    await screenshot(dee, 'dm-phone-open');
    assert.deepEqual(dee.consoleErrors, []);
    await Promise.all([eve, dee].map((page) => page.context().close()));
  });
});

// Leaving a room in the web client, in real headless Chromium against a real
// `hearth serve`: a left room drops out of the list, counts no unread, stays
// out across a reload, and comes back with its messages when opened by name.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  apiPost,
  apiToken,
  launchBrowser,
  newPage,
  screenshot,
  signIn,
  startServer,
  waitConnected,
  waitForText,
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

const item = (page, room) => page.locator(`li.room[data-room="${room}"]`);

describe('leaving a room', () => {
  test('a left room is gone from the list, counts no unread, stays gone after a reload, and comes back when opened', async () => {
    const bo = await apiToken(server.url, 'bo');
    await apiPost(server.url, bo, 'side', 'before leaving');
    await apiPost(server.url, bo, 'other', 'other room');
    const ana = await newPage(browser);
    await signIn(ana, server.url, 'ana');
    await item(ana, 'side').waitFor();
    await item(ana, 'other').waitFor();

    // Keyboard: Tab from the room's link reaches its Leave button; Enter leaves.
    await item(ana, 'side').locator('.room-link').focus();
    await ana.keyboard.press('Tab');
    assert.equal(await ana.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Leave #side');
    await ana.keyboard.press('Enter');
    await item(ana, 'side').waitFor({ state: 'detached' });
    assert.match(new URL(ana.url()).pathname, /^\/r\/general$/, 'a room not on screen: the reader stays');
    assert.equal(await ana.evaluate(() => document.activeElement?.closest('li.room')?.dataset.room), 'other',
      'focus moves to the room now in its place');

    // bo writes in the left room, then in a followed one: only the followed one counts.
    await apiPost(server.url, bo, 'side', 'while away');
    await apiPost(server.url, bo, 'other', 'ping');
    await item(ana, 'other').locator('.unread:not([hidden])').waitFor();
    assert.equal((await item(ana, 'other').locator('.unread').textContent()).trim(), '1');
    assert.equal((await ana.locator('#unread-total').textContent()).trim(), '1');
    assert.equal(await item(ana, 'side').count(), 0);
    assert.doesNotMatch(await ana.title(), /\(2\)/);

    await ana.reload();
    await waitConnected(ana);
    await item(ana, 'other').waitFor();
    await item(ana, 'general').waitFor();
    assert.equal(await item(ana, 'side').count(), 0, 'still gone after a reload');

    await ana.locator('#new-room-name').fill('side');
    await ana.locator('#new-room-name').press('Enter');
    await ana.waitForURL(/\/r\/side$/);
    await waitForText(ana, 'before leaving');
    await waitForText(ana, 'while away');
    await item(ana, 'side').waitFor();
    // Un-left for good: back in general, side is still listed (after a reload too).
    await item(ana, 'general').locator('.room-link').click();
    await ana.waitForURL(/\/r\/general$/);
    assert.equal(await item(ana, 'side').count(), 1);
    await ana.reload();
    await waitConnected(ana);
    await item(ana, 'side').waitFor();
    assert.deepEqual(ana.consoleErrors, []);
    await ana.context().close();
  });

  test('on a 360 px touch phone: leaving the room on screen opens the default room; the default room can be left too', async () => {
    const bo = await apiToken(server.url, 'bo');
    await apiPost(server.url, bo, 'phone-room', 'on the phone');
    const touch = await browser.newContext({ viewport: { width: 360, height: 700 }, hasTouch: true, isMobile: true });
    const dee = await touch.newPage();
    await signIn(dee, server.url, 'dee', 'phone-room');
    await waitForText(dee, 'on the phone');
    await dee.locator('#toggle-rooms').tap();
    const leave = item(dee, 'phone-room').locator('.leave-room');
    assert.ok(await leave.evaluate((b) => Number(getComputedStyle(b).opacity) > 0.5), 'visible without hover');
    const box = await leave.boundingBox();
    assert.ok(box && box.width >= 40 && box.height >= 40 && box.x + box.width <= 360, 'a thumb-sized button on screen');
    await screenshot(dee, 'leave-room-phone');
    await leave.tap();
    await dee.waitForURL(/\/r\/general$/);
    assert.equal((await dee.locator('#room-title').textContent()).trim(), 'general');
    await item(dee, 'phone-room').waitFor({ state: 'detached' });

    // The default room: leaving it goes to another followed room.
    await dee.locator('#toggle-rooms').tap();
    await item(dee, 'general').locator('.leave-room').tap();
    await dee.waitForURL((url) => !url.pathname.endsWith('/r/general'));
    await item(dee, 'general').waitFor({ state: 'detached' });
    await dee.reload();
    await waitConnected(dee);
    assert.equal(await item(dee, 'general').count(), 0, 'the default room stays left');
    await touch.close();
  });
});

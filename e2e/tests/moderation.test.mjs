// Moderation in the web client, in real headless Chromium against a real
// `hearth serve --admin boss`: boss (signed in with the nick password)
// deletes someone else's message and bans a person for 15 minutes with a
// reason; the banned person's page shows why and until when (no reconnect
// loop), and their post is refused; boss sees the ban in the list and
// lifts it. Sessions the server ends otherwise (signed out in another tab,
// superseded when the nick gets protected elsewhere) go back to sign-in
// with a sentence saying so.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  launchBrowser, newPage, screenshot, send, startServer, waitConnected, waitForText,
} from '../support.mjs';

let browser;
let server;
before(async () => {
  browser = await launchBrowser();
  server = await startServer({ args: ['--admin', 'boss', '--password-backoff', '0s'] });
});
after(async () => {
  await server?.stop();
  await browser?.close();
});

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

const messageEl = (page, text) => page.locator('#messages .message:not(.pending)', { has: page.locator('.text', { hasText: text }) });

describe('moderation', () => {
  test('an admin deletes another person\'s message and bans them; they see why and until when', async () => {
    const boss = await newPage(browser);
    const troll = await newPage(browser, undefined, 'dark');
    const ana = await newPage(browser);
    await signInAs(boss, 'boss', 'boss-secret-42');
    await signInAs(troll, 'troll');
    await signInAs(ana, 'ana');

    // boss is an admin, and says so; ana is not.
    await boss.locator('#me-admin').waitFor({ state: 'visible' });
    assert.equal(await ana.locator('#me-admin').isVisible(), false);

    await send(troll, 'buy cheap watches');
    await waitForText(boss, 'buy cheap watches');
    await waitForText(ana, 'buy cheap watches');

    // ana (no admin) gets no Delete on troll's message.
    await messageEl(ana, 'buy cheap watches').locator('.msg-menu').click();
    await ana.locator('.msg-panel .act-reply').waitFor();
    assert.equal(await ana.locator('.msg-panel .act-delete').count(), 0);
    await ana.keyboard.press('Escape');

    // boss deletes it, after confirming; it goes for everyone.
    await messageEl(boss, 'buy cheap watches').locator('.msg-menu').click();
    await boss.locator('.msg-panel .act-delete').click();
    await boss.locator('.msg-panel .confirm-text', { hasText: 'Delete this message by troll for everyone?' }).waitFor();
    await boss.locator('.msg-panel .confirm-delete').click();
    await messageEl(ana, 'buy cheap watches').waitFor({ state: 'detached' });
    await messageEl(troll, 'buy cheap watches').waitFor({ state: 'detached' });

    // ana has no "Ban for…" on troll; boss does.
    await ana.locator('#online li.person[data-nick="troll"] button.person-btn').click();
    await ana.locator('#online .person-menu .act-message').waitFor();
    assert.equal(await ana.locator('#online .person-menu .act-ban').count(), 0);
    await ana.keyboard.press('Escape');

    await boss.locator('#online li.person[data-nick="troll"] button.person-btn').click();
    await boss.locator('#online .person-menu .act-ban').click();
    const form = boss.locator('#online .ban-form');
    assert.deepEqual((await form.locator('.ban-choices label').allTextContents()).map((s) => s.trim()),
      ['15 minutes', '1 hour', '1 day', '1 week']);
    assert.equal(await form.locator('input[name=ban-minutes][value="15"]').isChecked(), true);
    await form.locator('.ban-reason').fill('spamming the room');
    await screenshot(boss, 'moderation-ban-form');
    const before = Date.now();
    await form.locator('.confirm-ban').click();
    await boss.locator('#notice', { hasText: /troll is banned until \d\d:\d\d/ }).waitFor();

    // troll's page: why and until when, in local time; no chat view, no reconnecting.
    const text = troll.locator('#banned-text');
    await text.waitFor({ state: 'visible' });
    const until = await troll.evaluate(() => fetch('/api/session').then((r) => r.json()).then((b) => b.until));
    const expected = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }).format(new Date(until));
    assert.equal(await text.textContent(), `You are banned from this server until ${expected}: spamming the room`);
    const minutes = (Date.parse(until) - before) / 60_000;
    assert.ok(minutes > 14 && minutes <= 15.1, `banned for 15 minutes (${minutes})`);
    assert.equal(await troll.locator('#app').isVisible(), false);
    await screenshot(troll, 'moderation-banned');
    // Their post is refused, with the reason.
    const post = await troll.evaluate(() => fetch('/api/rooms/general/messages', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'I am back', client_id: crypto.randomUUID() }),
    }).then(async (r) => ({ status: r.status, body: await r.json() })));
    assert.equal(post.status, 403);
    assert.equal(post.body.reason, 'banned');
    // No reconnect loop: the stream was not asked for again.
    const streams = await troll.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/events')).length);
    assert.equal(streams, 1);

    // A reload finds the session banned: the same screen.
    await troll.reload();
    await text.waitFor({ state: 'visible' });
    assert.match(await text.textContent(), /^You are banned from this server until .*: spamming the room$/);

    // Signing in again meanwhile says the same.
    const again = await newPage(browser);
    await again.goto(`${server.url}/r/general`);
    await again.locator('#nick').fill('troll');
    await again.locator('#signin-submit').click();
    await again.locator('#signin-error', { hasText: /^You are banned from this server until .*: spamming the room$/ }).waitFor();
    assert.equal(await again.locator('#app').isVisible(), false);
    await again.context().close();

    // boss sees the ban in the list and lifts it.
    await boss.locator('#bans-box summary').click();
    const ban = boss.locator('#ban-list li.ban[data-nick="troll"]');
    await ban.waitFor();
    assert.match(await ban.textContent(), /troll until .* \(by boss\): spamming the room/);
    await screenshot(boss, 'moderation-bans');
    await ban.locator('button.unban').click();
    await ban.waitFor({ state: 'detached' });
    await boss.locator('#bans-status', { hasText: 'Nobody is banned.' }).waitFor();

    // troll may come back.
    await troll.locator('#banned-signin').click();
    await troll.locator('#nick').fill('troll');
    await troll.locator('#signin-submit').click();
    await troll.locator('#app').waitFor({ state: 'visible' });
    await waitConnected(troll);

    for (const page of [boss, troll, ana]) assert.deepEqual(page.consoleErrors, []);
    await Promise.all([boss, troll, ana].map((page) => page.context().close()));
  });

  test('signed out in another tab, or superseded by protecting the nick elsewhere: back to sign-in, saying why', async () => {
    // Two tabs of one browser share the session cookie.
    const tab1 = await newPage(browser);
    await signInAs(tab1, 'dan');
    const tab2 = await tab1.context().newPage();
    tab2.consoleErrors = [];
    tab2.on('pageerror', (err) => tab2.consoleErrors.push(String(err)));
    await tab2.goto(`${server.url}/r/general`);
    await waitConnected(tab2);
    await tab1.locator('#signout').click();
    await tab1.locator('#signin').waitFor({ state: 'visible' });
    assert.equal(await tab1.locator('#signin-error').textContent(), '', 'this tab signed out: no news');
    await tab2.locator('#signin-error', { hasText: 'You were signed out (from another tab or window): sign in again to go on.' }).waitFor();
    assert.equal(await tab2.locator('#app').isVisible(), false);

    // eve chats unprotected; someone protects "eve" elsewhere: her session ends.
    const eve = await newPage(browser);
    await signInAs(eve, 'eve');
    const protect = await fetch(`${server.url}/api/session`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ nick: 'eve', nick_password: 'eve-secret-42' }),
    });
    assert.equal(protect.status, 201);
    await eve.locator('#signin-error', { hasText: /^Your session ended because your nick was signed in with its nick password elsewhere/ }).waitFor();
    for (const page of [tab1, tab2, eve]) assert.deepEqual(page.consoleErrors, []);
    await Promise.all([tab1, eve].map((page) => page.context().close()));
  });

  test('a protected nick refused at sign-in: "Pick another nick" clears the refusal', async () => {
    // boss is protected by the test above; protect the nick here too when run alone.
    await fetch(`${server.url}/api/session`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ nick: 'boss', nick_password: 'boss-secret-42' }),
    });
    const page = await newPage(browser);
    await page.goto(`${server.url}/r/general`);
    await page.locator('#nick').fill('boss');
    await page.locator('#signin-submit').click();
    await page.locator('#signin-error', { hasText: 'boss is protected' }).waitFor();
    const pick = page.locator('#pick-another-nick');
    await pick.waitFor({ state: 'visible' });
    await pick.click();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'nick');
    assert.equal(await page.locator('#signin-error').textContent(), '');
    assert.equal(await page.locator('#nick-password').isVisible(), false);
    assert.equal(await pick.isVisible(), false);
    await page.keyboard.type('not-boss');
    await page.locator('#signin-submit').click();
    await page.locator('#app').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#me').textContent(), 'not-boss');
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  });
});

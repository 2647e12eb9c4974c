// Notifications from the desktop app's real window (WebKitGTK under Xvfb,
// through tauri-driver): with room A on screen and the window focused, a
// plain message in room B asks for no notification, one that mentions the
// person does; back home, room B's saved item shows the mention badge.
//
// The app records each notification request as a JSON line in the file
// named by HEARTH_NOTIFY_LOG (src-tauri/src/notify.rs), so no notification
// daemon is needed.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { apiPost, apiToken, startServer } from '../support.mjs';
import { AppSession, newProfile, startDriver } from '../webdriver.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The notification requests recorded so far. */
function requests(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

async function waitRequests(file, count, timeout = 20000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const seen = requests(file);
    if (seen.length >= count) return seen;
    await sleep(200);
  }
  throw new Error(`expected ${count} notification request(s), saw ${JSON.stringify(requests(file))}`);
}

/** Joins `room` of `url` from the home screen as `nick`; the room opens. */
async function joinRoom(app, url, room, nick) {
  await app.waitVisible('#desktop-home');
  await app.type('#join-address', `${url}/r/${room}`);
  await app.type('#join-nick', nick);
  await app.click('#join-submit');
  await app.waitVisible('#app');
  await app.waitFor('return document.querySelector("#connection")?.dataset.state === "connected";');
}

/** A script: the chat view's room list shows `count` unread for room b. */
const UNREAD_B = (count) =>
  `const e = document.querySelector('#rooms li.room[data-room="b"] .unread'); return !!e && !e.hidden && e.textContent === '${count}';`;

/** The saved-room item of `room` on the home screen, as plain data. */
const SAVED_ITEM = `
  const li = [...document.querySelectorAll('#saved-rooms li.saved-room')]
    .find((e) => e.querySelector('.saved-room-name').textContent.startsWith('#' + arguments[0] + ' '));
  if (!li) return null;
  const badge = (css) => { const e = li.querySelector(css); return e.hidden ? null : e.textContent; };
  return { unread: badge('.unread'), mentions: badge('.mentions') };`;

describe('notifications while another room is on screen', () => {
  const profile = { ...newProfile(), HEARTH_MDNS: 'off' };
  const log = join(profile.XDG_CACHE_HOME, '..', 'notify.jsonl');
  let server;
  let driver;
  let app;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await app?.close();
    await driver?.stop();
    await server?.stop();
  });

  test('a mention in room B notifies, a plain message does not; home shows @1 for B', async () => {
    driver = await startDriver({ ...profile, HEARTH_NOTIFY_LOG: log });
    app = await AppSession.open(driver);
    // Room B first, then room A, which stays on screen.
    await joinRoom(app, server.url, 'b', 'ana');
    await app.click('#home');
    await joinRoom(app, server.url, 'a', 'ana');
    assert.equal(await app.exec('return document.hasFocus();'), true, 'the window has the focus');

    const token = await apiToken(server.url, 'bo');
    await apiPost(server.url, token, 'b', 'just chatting in b');
    // Both rooms share a connection, so the chat view's room list shows B's
    // count. Rust decides on a notification as it forwards the message.
    await app.waitFor(UNREAD_B('1'), { message: 'room b counts 1 unread' });
    await sleep(500);
    assert.deepEqual(requests(log), [], 'a plain message in another room asks for no notification');

    await apiPost(server.url, token, 'b', 'hey @ana, look at b');
    const [request] = await waitRequests(log, 1);
    assert.equal(request.title, 'bo mentioned you in #b');
    assert.equal(request.body, 'hey @ana, look at b');
    await app.waitFor(UNREAD_B('2'), { message: 'room b counts 2 unread' });
    assert.equal(requests(log).length, 1, 'only the mention asked for a notification');

    await app.click('#home');
    await app.waitVisible('#desktop-home');
    const item = await app.waitFor(
      `const item = (function () { ${SAVED_ITEM} }).apply(null, arguments); return item?.mentions ? item : null;`,
      { message: 'room b shows its mention badge' }, 'b');
    assert.deepEqual(item, { unread: '2', mentions: '@1' });
    const roomA = await app.exec(SAVED_ITEM, 'a');
    assert.deepEqual(roomA, { unread: null, mentions: null });
    await app.screenshot('desktop-mention-badge');
  });
});

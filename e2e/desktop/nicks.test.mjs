// Protected nicks in the desktop app's real window (WebKitGTK under Xvfb,
// via tauri-driver): the app protects the nick it hosts with, with a nick
// password it made and keeps in the OS keychain (read here from the real
// Secret Service, not from the app); an impostor signing in to the same
// server with that nick and no password is refused (401 nick_protected);
// the password signs in elsewhere, as an admin of the host's own server;
// the app shows it ("Show nick password"); and after an app restart the
// nick is signed in again, protected and admin, with nothing typed. On a
// server it joins, the same: the nick is protected from the first
// sign-in; "Message" on a person opens a DM room (saved by Rust) that
// talks both ways; someone else's nick is refused with "Pick another
// nick"; and when an admin bans it the window leaves the room and says
// why and until when (the stream's `ended`, relayed by Rust). A keychain
// that lost the nick password: the saved room says the nick is protected
// and signs in again with the password typed once (then kept).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { apiHistory, apiPost, startServer } from '../support.mjs';
import { AppSession, newProfile, startDriver } from '../webdriver.mjs';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const KEYCHAIN_BIN = join(root, 'target/debug/examples/keychain');
const NICK = 'hostess';

/** The secret the OS keychain keeps under service "hearth" and `account`. */
async function keychain(account) {
  const { stdout } = await run(KEYCHAIN_BIN, ['get', account]);
  return stdout.trim();
}

/** Deletes a secret from the OS keychain (a lost keychain). */
async function forgetSecret(account) {
  await run(KEYCHAIN_BIN, ['delete', account]);
}

async function signInOverHttp(url, body) {
  const response = await fetch(`${url}/api/session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function openApp(profile) {
  const driver = await startDriver(profile);
  const app = await AppSession.open(driver);
  return {
    app,
    async close() {
      await app.close();
      await driver.stop();
    },
  };
}

/** Waits until the window painted what the DOM holds now (two animation frames), for a screenshot. */
async function painted(app) {
  await app.exec('window.__painted = false; requestAnimationFrame(() => requestAnimationFrame(() => { window.__painted = true; }));');
  await app.waitFor('return window.__painted === true;', { message: 'a paint' });
}

const running = 'return document.querySelector("#host-status")?.dataset.running === "true";';
const connected = 'return document.querySelector("#connection")?.dataset.state === "connected";';
const shown = (css) => `const e = document.querySelector(${JSON.stringify(css)}); return !!e && !e.hidden && !e.closest("[hidden]");`;

describe('the app protects the nick it hosts with', () => {
  const profile = { ...newProfile(), HEARTH_MDNS: 'off' };
  let session;
  let password;
  before(async () => {
    // The reader of the real keychain (built with the app's tests; cheap when up to date).
    await run('cargo', ['build', '--quiet', '-p', 'hearth-desktop', '--example', 'keychain'], { cwd: root });
  });
  after(async () => session?.close());

  test('the nick password is in the keychain; an impostor is refused; the app shows it', async () => {
    session = await openApp(profile);
    const { app } = session;
    await app.waitVisible('#desktop-home');
    await app.type('#host-nick', NICK);
    await app.click('#host-on-launch');
    await app.click('#host-start');
    await app.waitFor(running);
    const port = await app.waitFor('return document.querySelector("#host-status")?.dataset.port;');
    const url = `http://127.0.0.1:${port}`;

    password = await keychain(`nick hosted ${NICK}`);
    assert.match(password, /^[A-Za-z0-9]{24}$/, 'a 24-character nick password, made by the app');

    const impostor = await signInOverHttp(url, { nick: NICK });
    assert.equal(impostor.status, 401);
    assert.equal(impostor.body.reason, 'nick_protected');
    // (A wrong nick password is refused too, and makes the address wait:
    // the protocol suite tests that; a guess here would slow what follows.)
    // The person can sign in elsewhere with it, as the admin of their server.
    const elsewhere = await signInOverHttp(url, { nick: NICK, nick_password: password });
    assert.equal(elsewhere.status, 201);
    assert.equal(elsewhere.body.protected, true);
    assert.equal(elsewhere.body.admin, true);

    await app.click('#host-open');
    await app.waitVisible('#app');
    await app.waitFor(connected);
    await app.waitFor(shown('#me-lock'), { message: 'the lock of a protected nick' });
    await app.waitFor(shown('#me-admin'), { message: 'the host is an admin' });
    await app.send('posted as the protected host');
    assert.equal(await app.waitForMessage('posted as the protected host'), 1);
    const stored = (await apiHistory(url, elsewhere.body.token, 'general'))
      .filter((m) => m.text === 'posted as the protected host');
    assert.deepEqual(stored.map((m) => m.nick), [NICK]);

    // Home: the saved room shows the nick password on demand.
    await app.click('#home');
    await app.waitVisible('#desktop-home');
    await app.click('#saved-rooms li.saved-room .show-nick-password');
    const value = await app.waitFor(
      'const e = document.querySelector("#saved-rooms li.saved-room .nick-password-value"); return e ? e.textContent : null;');
    assert.equal(value, password);
    await painted(app);
    await app.screenshot('desktop-nick-password');
    await session.close();
    session = null;
  });

  test('after an app restart the nick is signed in again, protected, with nothing typed', async () => {
    session = await openApp(profile);
    const { app } = session;
    await app.waitVisible('#desktop-home');
    await app.waitFor(running, { timeout: 30000, message: 'hosting on launch' });
    const port = await app.waitFor('return document.querySelector("#host-status")?.dataset.port;');
    const url = `http://127.0.0.1:${port}`;
    assert.equal(await keychain(`nick hosted ${NICK}`), password, 'the same nick password');
    const impostor = await signInOverHttp(url, { nick: NICK });
    assert.equal(impostor.status, 401, 'still protected');
    assert.equal(impostor.body.reason, 'nick_protected');

    await app.click('#saved-rooms li.saved-room .open-room');
    await app.waitVisible('#app');
    await app.waitFor(connected);
    await app.waitFor(shown('#me-lock'), { message: 'the lock of a protected nick' });
    await app.waitFor(shown('#me-admin'), { message: 'the host is an admin' });
    assert.equal(await app.waitForMessage('posted as the protected host'), 1);
    await app.send('after the restart');
    assert.equal(await app.waitForMessage('after the restart'), 1);
    const me = await signInOverHttp(url, { nick: NICK, nick_password: password });
    const texts = (await apiHistory(url, me.body.token, 'general')).map((m) => [m.nick, m.text]);
    assert.deepEqual(texts.filter(([, t]) => t === 'after the restart'), [[NICK, 'after the restart']]);
    await painted(app);
    await app.screenshot('desktop-nicks-restart');
  });
});

describe('a server the app joins', () => {
  let server;
  let session;
  before(async () => {
    await run('cargo', ['build', '--quiet', '-p', 'hearth-desktop', '--example', 'keychain'], { cwd: root });
    server = await startServer({ args: ['--admin', 'boss'] });
  });
  after(async () => {
    await session?.close();
    await server?.stop();
  });

  test('the joined nick is protected; a ban ends the session with a sentence', async () => {
    session = await openApp({ ...newProfile(), HEARTH_MDNS: 'off' });
    const { app } = session;
    await app.waitVisible('#desktop-home');
    await app.type('#join-address', `${server.url}/r/general`);
    await app.type('#join-nick', 'ana');
    await app.click('#join-submit');
    await app.waitVisible('#app');
    await app.waitFor(connected);
    await app.waitFor(shown('#me-lock'), { message: 'the lock of a protected nick' });

    const password = await keychain(`nick ${server.url}/ ana`);
    assert.match(password, /^[A-Za-z0-9]{24}$/);
    const impostor = await signInOverHttp(server.url, { nick: 'ana' });
    assert.equal(impostor.status, 401);
    assert.equal(impostor.body.reason, 'nick_protected');

    // Direct messages: bo (protected, online in #general) gets a "Message"
    // from the window; the DM room is saved by Rust and talks both ways.
    const bo = await signInOverHttp(server.url, { nick: 'bo', nick_password: 'bos-own-password' });
    assert.equal(bo.status, 201);
    const online = new AbortController();
    const stream = await fetch(`${server.url}/api/rooms/general/events`, {
      headers: { Authorization: `Bearer ${bo.body.token}` },
      signal: online.signal,
    });
    const drain = (async () => {
      const reader = stream.body.getReader();
      while (!(await reader.read()).done);
    })().catch(() => {});
    await app.click('#online li.person button.person-btn[data-nick="bo"]');
    await app.click('#online .person-menu .act-message');
    await app.waitVisible('#dm-list li.room.dm[data-nick="bo"]');
    const dmRoom = await app.exec('return document.querySelector("#dm-list li.room.dm[data-nick=bo]").dataset.room;');
    assert.match(dmRoom, /^dm-/);
    await app.send('hello bo, privately');
    const dm = await (await fetch(`${server.url}/api/dm`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${bo.body.token}` },
      body: JSON.stringify({ nick: 'ana' }),
    })).json();
    assert.equal(dm.room, dmRoom, 'the same room whoever asks');
    assert.equal(await app.waitForMessage('hello bo, privately'), 1);
    const seen = await apiHistory(server.url, bo.body.token, dmRoom);
    assert.deepEqual(seen.map((m) => [m.nick, m.text]), [['ana', 'hello bo, privately']]);
    await apiPost(server.url, bo.body.token, dmRoom, 'psst, ana');
    assert.equal(await app.waitForMessage('psst, ana'), 1);
    await painted(app);
    await app.screenshot('desktop-dm');
    online.abort();
    await drain;

    // Someone else's protected nick: the app says so and offers another.
    await app.click('#home');
    await app.waitVisible('#desktop-home');
    const boss = await signInOverHttp(server.url, { nick: 'boss', nick_password: 'the-boss-password' });
    assert.equal(boss.body.admin, true);
    await app.type('#join-address', `${server.url}/r/general`);
    await app.type('#join-nick', 'boss');
    await app.click('#join-submit');
    const refusal = await app.waitFor('return document.querySelector("#join-error")?.textContent;');
    assert.match(refusal, /The nick boss is protected on this server by someone else/);
    await app.waitVisible('#join-other-nick');
    await app.waitVisible('#join-nick-password');
    await painted(app);
    await app.screenshot('desktop-nick-protected');

    // Back in #general, an admin bans ana: the window says why and until when.
    await app.click('#saved-rooms li.saved-room:first-child .open-room');
    await app.waitFor(connected);
    const banned = await fetch(`${server.url}/api/bans`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${boss.body.token}` },
      body: JSON.stringify({ nick: 'ana', minutes: 60, reason: 'testing bans' }),
    });
    assert.equal(banned.status, 201);
    await app.waitVisible('#desktop-home');
    const notice = await app.waitFor('return document.querySelector("#desktop-notice")?.textContent;');
    assert.match(notice, /banned/i);
    assert.match(notice, /testing bans/);
    assert.equal(await app.exec('return document.querySelector("#app").hidden;'), true, 'the room view is gone');
    await painted(app);
    await app.screenshot('desktop-banned');

    // Opening the room again while banned: the window says so again (Rust
    // keeps the end for a view's catch-up).
    await app.click('#saved-rooms li.saved-room:first-child .open-room');
    const again = await app.waitFor(
      'const n = document.querySelector("#desktop-notice"); return !n.hidden && n.textContent.includes("banned") && document.querySelector("#app").hidden && n.textContent;');
    assert.match(again, /testing bans/);
  });
});

describe('a keychain that lost the nick password', () => {
  const profile = { ...newProfile(), HEARTH_MDNS: 'off' };
  let server;
  let session;
  before(async () => {
    await run('cargo', ['build', '--quiet', '-p', 'hearth-desktop', '--example', 'keychain'], { cwd: root });
    server = await startServer();
  });
  after(async () => {
    await session?.close();
    await server?.stop();
  });

  test('the room says the nick is protected and signs in again with the password typed once', async () => {
    session = await openApp(profile);
    let { app } = session;
    await app.waitVisible('#desktop-home');
    await app.type('#join-address', `${server.url}/r/general`);
    await app.type('#join-nick', 'cy');
    await app.click('#join-submit');
    await app.waitVisible('#app');
    await app.waitFor(connected);
    const password = await keychain(`nick ${server.url}/ cy`);
    await session.close();
    session = null;

    // A new machine, say: the keychain has nothing of cy any more.
    await forgetSecret(`nick ${server.url}/ cy`);
    await forgetSecret(`${server.url}/r/general cy`);
    session = await openApp(profile);
    ({ app } = session);
    await app.waitVisible('#desktop-home');
    await app.waitVisible('#saved-rooms li.saved-room .saved-signin');
    const state = await app.text('#saved-rooms li.saved-room .saved-room-state');
    assert.match(state, /The nick cy is protected on this server/);
    await painted(app);
    await app.screenshot('desktop-nick-lost');
    await app.type('#saved-rooms li.saved-room .saved-nick-password', password);
    await app.click('#saved-rooms li.saved-room .saved-signin-submit');
    await app.waitFor('return document.querySelector("#saved-rooms li.saved-room .saved-room-state")?.dataset.state === "connected";');
    assert.equal(await app.exec('return document.querySelector("#saved-rooms li.saved-room .saved-signin").hidden;'), true);
    assert.equal(await keychain(`nick ${server.url}/ cy`), password, 'kept again');
    await painted(app);
    await app.screenshot('desktop-signed-in-again');
  });
});

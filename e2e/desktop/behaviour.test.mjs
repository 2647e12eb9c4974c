// How the desktop app's real window behaves for a new user (WebKitGTK under
// Xvfb, through tauri-driver), joining a `hearth serve` on 127.0.0.1 that
// the test starts (no hosting, so nothing is advertised on the network):
// - the join form says what is wrong in a person's words, and the error
//   goes once the field is edited;
// - a link in a message goes to the system browser's opener (recorded in
//   HEARTH_TEST_OPENER_LOG, src-tauri/src/rooms/links.rs) and the webview
//   stays on the app; window.open too;
// - right-click shows the app's own menu (a message's actions), or none;
// - an empty room says so; the title counts unread messages;
// - a room whose server is down says why, and "Retry now" reconnects;
//   back after an outage, the queued message goes and the room is connected
//   at once (not after the stream's backoff) and stays in the sidebar;
// - hosting asked for at launch that cannot start says why on the home screen.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { apiPost, apiToken, startServer } from '../support.mjs';
import { AppSession, newProfile, startDriver } from '../webdriver.mjs';

/** The URLs handed to the opener so far. */
function opened(file) {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** Polls the opener's log until it has `count` URLs; returns them. */
async function waitOpened(file, count, timeout = 10000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const seen = opened(file);
    if (seen.length >= count) return seen;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`expected ${count} URL(s) handed to the opener, saw ${JSON.stringify(opened(file))}`);
}

async function joinRoom(app, url, room, nick) {
  await app.waitVisible('#desktop-home');
  await app.type('#join-address', `${url}/r/${room}`);
  await app.type('#join-nick', nick);
  await app.click('#join-submit');
  await app.waitVisible('#app');
  await app.waitFor('return document.querySelector("#connection")?.dataset.state === "connected";');
}

/** A right-click at the middle of the element `css` (a real contextmenu event): was it prevented, and what does the menu offer? */
const RIGHT_CLICK = `
  const el = document.querySelector(arguments[0]);
  const box = el.getBoundingClientRect();
  const ev = new MouseEvent('contextmenu', { bubbles: true, cancelable: true, button: 2,
    clientX: box.left + box.width / 2, clientY: box.top + box.height / 2 });
  const prevented = !el.dispatchEvent(ev);
  return { prevented, items: [...document.querySelectorAll('#context-menu .ctx-item')].map((b) => b.dataset.action) };`;

describe('what a new user runs into', () => {
  const profile = { ...newProfile(), HEARTH_MDNS: 'off' };
  const log = join(profile.XDG_CACHE_HOME, '..', 'opener.log');
  let server;
  let driver;
  let app;
  before(async () => {
    server = await startServer();
    driver = await startDriver({ ...profile, HEARTH_TEST_OPENER_LOG: log });
    app = await AppSession.open(driver);
  });
  after(async () => {
    await app?.close();
    await driver?.stop();
    await server?.stop();
  });

  test('the join form says what is wrong in a person\'s words; editing clears it', async () => {
    await app.waitVisible('#desktop-home');
    await app.type('#join-nick', 'ana');
    await app.type('#join-address', 'htp:/nope');
    await app.click('#join-submit');
    assert.equal(
      await app.waitFor('return document.querySelector("#join-error").textContent;'),
      'That is not a web address: htp: is not http:// or https:// (try http://192.168.1.20:8989).',
    );
    await app.type('#join-address', 'http://127.0.0.1:1');
    assert.equal(await app.text('#join-error'), '', 'editing the address clears the old error');
    await app.click('#join-submit');
    assert.equal(
      await app.waitFor('return document.querySelector("#join-error").textContent;'),
      'Nothing answers at 127.0.0.1:1: connection refused. Check the address and that the host is running.',
    );
    // Right-click on the home screen: no menu, and not WebKit's either.
    assert.deepEqual(await app.exec(RIGHT_CLICK, '#join-form'), { prevented: true, items: [] });
  });

  test('an empty room says so; the title counts unread messages of the other rooms', async () => {
    await joinRoom(app, server.url, 'b', 'ana');
    await app.click('#home');
    await joinRoom(app, server.url, 'quiet', 'ana');
    assert.equal(await app.waitFor(
      'const c = getComputedStyle(document.querySelector("#messages"), "::before").content; return c && c !== "none" && c;'),
    '"No messages yet. Say hello!"');
    assert.equal(await app.exec('return document.title;'), '#quiet — Hearth');
    const token = await apiToken(server.url, 'bo');
    await apiPost(server.url, token, 'b', 'over in b');
    await app.waitFor('return document.title === "(1) #quiet — Hearth";', { message: 'the title counts 1 unread' });
  });

  test('a link in a message goes to the opener; the webview stays on the app', async () => {
    const token = await apiToken(server.url, 'bo');
    await apiPost(server.url, token, 'quiet', 'docs: https://example.org/docs');
    await app.waitFor('return !!document.querySelector(\'#messages a[href="https://example.org/docs"]\');');
    const before = await app.exec('return location.href;');
    await app.click('#messages a[href="https://example.org/docs"]');
    assert.deepEqual(await waitOpened(log, 1), ['https://example.org/docs']);
    assert.equal(await app.exec('return window.open("https://example.org/other");'), null);
    assert.deepEqual(await waitOpened(log, 2), ['https://example.org/docs', 'https://example.org/other']);
    assert.equal(await app.exec('return location.href;'), before, 'the webview did not navigate');
    // What the page does not catch, Rust's navigation guard refuses: the
    // window keeps the app (the tests below go on using it).
    await app.exec('location.href = "https://example.org/away"; return 1;');
    const form = 'const f = document.createElement("form"); f.method = "get"; f.action = "https://example.org/form";'
      + ' document.body.append(f); f.submit(); return 1;';
    await app.exec(form);
    await app.waitFor('return document.readyState === "complete" && !!document.querySelector("#composer-text");');
    assert.equal(await app.exec('return location.href;'), before);
    assert.deepEqual(opened(log), ['https://example.org/docs', 'https://example.org/other'], 'nothing else was opened');
    // A middle click opens the browser too; a URL dropped on the page loads nothing.
    const middle = await app.exec(`const a = document.querySelector('#messages a[href="https://example.org/docs"]');
      const ev = new MouseEvent('auxclick', { bubbles: true, cancelable: true, button: 1 });
      return !a.dispatchEvent(ev);`);
    assert.equal(middle, true, 'the middle click was taken over');
    assert.equal((await waitOpened(log, 3))[2], 'https://example.org/docs');
    const dropped = await app.exec(`const dt = new DataTransfer(); dt.setData('text/uri-list', 'https://example.org/dropped');
      const ev = new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt });
      return !document.querySelector('#messages').dispatchEvent(ev);`);
    assert.equal(dropped, true, 'the drop was refused');
    assert.equal(await app.exec('return location.href;'), before);
    assert.equal(await app.exec('return !!document.querySelector("#composer-text");'), true);
  });

  test('right-click on a message shows its actions; Reply replies', async () => {
    await app.send('mine to right-click');
    await app.waitForMessage('mine to right-click');
    const own = '#messages .message.own[data-id]:last-of-type .text';
    await app.waitFor('return !!document.querySelector(arguments[0]);', {}, own);
    assert.deepEqual(await app.exec(RIGHT_CLICK, own), { prevented: true, items: ['reply', 'react', 'edit', 'delete'] });
    await app.click('#context-menu .ctx-item[data-action="reply"]');
    await app.waitFor('return /Replying to/.test(document.querySelector("#composer-mode-text")?.textContent || "");');
    assert.equal(await app.exec('return !!document.querySelector("#context-menu");'), false, 'the menu closed');
    await app.click('#composer-mode-cancel');
  });

  test('a room whose server is down says why; Retry now reconnects', async () => {
    const { port, data } = server;
    await server.stop();
    await app.waitFor('return document.querySelector("#connection")?.dataset.state === "offline";', { timeout: 30000 });
    const why = await app.waitFor('return document.querySelector("#connection-why")?.textContent;');
    assert.equal(why, `Nothing answers at 127.0.0.1:${port}: connection refused. Check the address and that the host is running.`);
    await app.waitVisible('#reconnect-now');
    server = await startServer({ port, data });
    await app.click('#reconnect-now');
    await app.waitFor('return document.querySelector("#connection")?.dataset.state === "connected";', { timeout: 5000 });
    assert.equal(await app.exec('return document.querySelector("#connection-why").hidden;'), true);
  });

  test('back after an outage: the queued message is sent and the room is connected at once, still listed', async () => {
    const { port, data } = server;
    await server.stop();
    await app.waitFor('return document.querySelector("#connection")?.dataset.state !== "connected";');
    await app.send('typed while the server was down');
    await app.waitFor('return !!document.querySelector("#messages .message.pending");');
    server = await startServer({ port, data });
    // The outbox delivers within its own backoff; the stream must not wait
    // out its backoff after that (Rust ends it when the server answers).
    await app.waitFor('return !document.querySelector("#messages .message.pending");', { timeout: 40000 });
    await app.waitFor('return document.querySelector("#connection")?.dataset.state === "connected";',
      { timeout: 2000, message: 'connected right after the message was sent' });
    assert.equal(await app.waitForMessage('typed while the server was down'), 1);
    assert.equal(await app.exec('return !!document.querySelector(\'#room-list li.room[data-room="quiet"]\');'), true);
  });
});

describe('hosting at launch that cannot start', () => {
  // The hosted server's data dir is a file: hosting fails at launch (the
  // same as a data dir that cannot be written).
  const profile = { ...newProfile(), HEARTH_MDNS: 'off' };
  const config = join(profile.XDG_CONFIG_HOME, 'chat.hearth.desktop');
  const data = join(profile.XDG_DATA_HOME, 'chat.hearth.desktop');
  let driver;
  let app;
  before(async () => {
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, 'settings.json'), JSON.stringify({ host: { start_on_launch: true } }));
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'server'), 'not a folder');
    driver = await startDriver(profile);
    app = await AppSession.open(driver);
  });
  after(async () => {
    await app?.close();
    await driver?.stop();
  });

  test('the home screen says why', async () => {
    await app.waitVisible('#desktop-home');
    const notice = await app.waitFor(
      'const n = document.querySelector("#desktop-notice"); return !n.hidden && n.textContent;',
      { message: 'the launch failure on the home screen' });
    assert.match(notice, /^Hosting did not start with Hearth: ./);
  });
});

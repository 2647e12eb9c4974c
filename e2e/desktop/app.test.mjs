// The desktop app's real window (WebKitGTK under Xvfb), driven through
// tauri-driver + WebKitWebDriver: hosting a room, joining a password-protected
// server, a server restart while a message waits, and an app restart that
// keeps the saved room (its password in the OS keychain).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { apiHistory, apiPost, apiToken, startServer } from '../support.mjs';
import { AppSession, newProfile, startDriver } from '../webdriver.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls the server's history until `text` is there; returns its count. */
async function waitStored(url, token, room, text, timeout = 30000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const count = (await apiHistory(url, token, room)).filter((m) => m.text === text).length;
    if (count > 0) return count;
    await sleep(250);
  }
  throw new Error(`${JSON.stringify(text)} never reached the server`);
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

describe('hosting a room from the app', () => {
  let session;
  after(async () => session?.close());

  test('the hosted room talks with the outside, both ways', async () => {
    session = await openApp({ ...newProfile(), HEARTH_MDNS: 'off' });
    const { app } = session;
    await app.waitVisible('#desktop-home');
    // Rust gives the page its page size before any script runs.
    assert.equal(await app.waitFor('return window.__HEARTH__?.pageSize;'), 50);
    await app.type('#host-nick', 'host');
    await app.click('#host-start');
    await app.waitFor('return document.querySelector("#host-status")?.dataset.running === "true";');
    const port = await app.waitFor('return document.querySelector("#host-status")?.dataset.port;');
    await app.screenshot('desktop-host');

    const url = `http://127.0.0.1:${port}`;
    const info = await (await fetch(`${url}/api/info`)).json();
    assert.equal(info.auth, 'none');

    await app.click('#host-open');
    await app.waitVisible('#app');
    await app.waitFor('return document.querySelector("#connection")?.dataset.state === "connected";');

    const token = await apiToken(url, 'outsider');
    await apiPost(url, token, 'general', 'hello from outside');
    assert.equal(await app.waitForMessage('hello from outside'), 1);

    await app.send('hello from the window');
    assert.equal(await waitStored(url, token, 'general', 'hello from the window'), 1);
    await app.screenshot('desktop-room');
  });
});

describe('joining a password-protected server', () => {
  const profile = { ...newProfile(), HEARTH_MDNS: 'off' };
  let server;
  let session;
  before(async () => {
    server = await startServer({ args: ['--password', 'sesame'] });
  });
  after(async () => {
    await session?.close();
    await server?.stop();
  });

  test('join by URL with the password, chat both ways, survive a server restart', async () => {
    session = await openApp(profile);
    const { app } = session;
    await app.waitVisible('#desktop-home');
    await app.type('#join-address', `${server.url}/r/general`);
    await app.type('#join-nick', 'ana');
    await app.click('#join-submit');
    await app.waitVisible('#join-password');
    await app.type('#join-password', 'sesame');
    await app.click('#join-submit');
    await app.waitVisible('#app');
    await app.waitFor('return document.querySelector("#connection")?.dataset.state === "connected";');

    const token = await apiToken(server.url, 'bo', 'sesame');
    await apiPost(server.url, token, 'general', 'bo says hi');
    assert.equal(await app.waitForMessage('bo says hi'), 1);
    await app.send('ana answers');
    assert.equal(await waitStored(server.url, token, 'general', 'ana answers'), 1);

    // The server dies; a message typed meanwhile waits and arrives once.
    const { port, data } = server;
    await server.stop('SIGKILL');
    await app.send('typed while the server was down');
    await app.waitFor('return document.querySelectorAll("#messages .message.pending").length === 1;');
    server = await startServer({ data, port, args: ['--password', 'sesame'] });
    assert.equal(await waitStored(server.url, token, 'general', 'typed while the server was down', 60000), 1);
    assert.equal(await app.waitForMessage('typed while the server was down', 60000), 1);
    await sleep(1000);
    const copies = (await apiHistory(server.url, token, 'general')).filter(
      (m) => m.text === 'typed while the server was down').length;
    assert.equal(copies, 1, 'stored exactly once');
    await session.close();
    session = null;
  });

  test('after an app restart the saved room opens without the password', async () => {
    session = await openApp(profile);
    const { app } = session;
    await app.waitVisible('#desktop-home');
    await app.waitFor('return document.querySelectorAll("#saved-rooms li.saved-room").length === 1;');
    await app.click('#saved-rooms li.saved-room .open-room');
    await app.waitVisible('#app');
    await app.waitFor('return document.querySelector("#connection")?.dataset.state === "connected";');
    // Connected and reading history without a password prompt: the token
    // (and password) came from the keychain.
    assert.equal(await app.waitForMessage('ana answers'), 1);
  });
});

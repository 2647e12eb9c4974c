// Files from the desktop app's real window (WebKitGTK under Xvfb, through
// tauri-driver): with the room's server down, a message with an image is
// queued through the composer's attach input; when the server returns it
// arrives exactly once, with its file byte-identical. The thumbnail shows
// through the app's own scheme (the webview loads nothing from the
// server), and Download saves the original into the Downloads folder.
// Then the same with an app restart while the message waits.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';

import { apiHistory, apiToken, startServer } from '../support.mjs';
import { AppSession, newProfile, startDriver } from '../webdriver.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A width×height RGB PNG, a gradient (so it is not a trivial image). */
function png(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      raw[row + 1 + x * 3] = (x * 255) / width;
      raw[row + 2 + x * 3] = (y * 255) / height;
      raw[row + 3 + x * 3] = 160;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Puts a file into the composer's attach input, as picking it would. */
const ATTACH = `
  const [name, type, b64] = arguments;
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type }));
  const input = document.querySelector('#attach-input');
  input.files = transfer.files;
  input.dispatchEvent(new Event('change', { bubbles: true }));
  return document.querySelectorAll('#tray-list li.tray-item').length;`;

/** Whether the app's outbox file (of `profile`) holds no entry: nothing more will be posted. */
function outboxEmpty(profile) {
  try {
    const file = join(profile.XDG_DATA_HOME, 'chat.hearth.desktop', 'outbox.json');
    return JSON.parse(readFileSync(file, 'utf8')).entries.length === 0;
  } catch {
    return false;
  }
}

/** The stored messages with `text`, once the server has one and the app's outbox let go of it. */
async function storedOnce(url, token, text, profile, timeout = 60000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const found = (await apiHistory(url, token, 'general')).filter((m) => m.text === text);
    if (found.length && outboxEmpty(profile)) {
      return (await apiHistory(url, token, 'general')).filter((m) => m.text === text);
    }
    await sleep(250);
  }
  throw new Error(`${JSON.stringify(text)} never reached the server (or stayed in the outbox)`);
}

async function fileBytes(url, token, file) {
  const response = await fetch(`${url}${file.url}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  return Buffer.from(await response.arrayBuffer());
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

/** Queues `text` with the image attached; waits until it shows as pending. */
async function queueWithImage(app, text, name, image) {
  assert.equal(await app.exec(ATTACH, name, 'image/png', image.toString('base64')), 1);
  await app.send(text);
  await app.waitFor(
    'return [...document.querySelectorAll("#messages .message.pending .text")].some((e) => e.textContent === arguments[0]);',
    { message: `${text} pending` },
    text,
  );
}

describe('files queued while the server is down', () => {
  const profile = { ...newProfile(), HEARTH_MDNS: 'off' };
  const downloads = join(profile.XDG_DATA_HOME, '..', 'Downloads');
  profile.HEARTH_DOWNLOAD_DIR = downloads;
  let server;
  let session;
  let token;
  before(async () => {
    mkdirSync(downloads, { recursive: true });
    server = await startServer();
    token = await apiToken(server.url, 'bo');
  });
  after(async () => {
    await session?.close();
    await server?.stop();
  });

  test('arrive exactly once when it returns, the image shown through the app', async () => {
    session = await openApp(profile);
    const { app } = session;
    await app.waitVisible('#desktop-home');
    await app.type('#join-address', `${server.url}/r/general`);
    await app.type('#join-nick', 'ana');
    await app.click('#join-submit');
    await app.waitVisible('#app');
    await app.waitFor('return document.querySelector("#connection")?.dataset.state === "connected";');
    await app.waitVisible('#attach'); // the server has files

    const { port, data } = server;
    await server.stop('SIGKILL');
    await app.waitFor('return document.querySelector("#connection")?.dataset.state !== "connected";');
    const image = png(640, 400);
    await queueWithImage(app, 'a photo, sent offline', 'photo.png', image);

    server = await startServer({ data, port });
    const copies = await storedOnce(server.url, token, 'a photo, sent offline', profile);
    assert.equal(copies.length, 1, 'stored exactly once');
    assert.deepEqual(copies[0].files.map((f) => [f.name, f.type, f.size]), [['photo.png', 'image/png', image.length]]);
    assert.ok((await fileBytes(server.url, token, copies[0].files[0])).equals(image), 'byte-identical');

    // The thumbnail is on screen, loaded from the app's scheme.
    const thumb = await app.waitFor(`
      const img = document.querySelector('#messages .message:not(.pending) .files img');
      return img && img.complete && img.naturalWidth > 0 ? {src: img.src, width: img.naturalWidth} : null;`,
    { message: 'the thumbnail loaded' });
    assert.match(thumb.src, /^(hearthfile:\/\/localhost\/|http:\/\/hearthfile\.localhost\/)/);
    assert.ok(thumb.width <= 320, `a thumbnail, not the original (${thumb.width} px)`);

    await app.screenshot('desktop-files');

    // The viewer shows the original through the scheme; Download saves it
    // into the Downloads folder.
    await app.exec('document.querySelector("#messages .message:not(.pending) .files .file-thumb").click();');
    await app.waitVisible('#image-viewer');
    const full = await app.waitFor(`
      const img = document.querySelector('#image-viewer img.viewer-image');
      return img && img.complete && img.naturalWidth > 0 ? img.naturalWidth : 0;`,
    { message: 'the full-size image loaded' });
    assert.equal(full, 640);
    await app.click('#image-viewer .viewer-download');
    const saved = join(downloads, 'photo.png');
    // Done when the window says where it saved it (the name is taken at once, the bytes come after).
    await app.waitFor('return document.body.textContent.includes(arguments[0]);',
      { message: `the window says it saved ${saved}` }, saved);
    assert.ok(readFileSync(saved).equals(image), 'the download is the original');
    await app.screenshot('desktop-files-viewer');
  });

  test('and after an app restart while one waits, still exactly once', async () => {
    const { app } = session;
    await app.exec('document.dispatchEvent(new KeyboardEvent("keydown", {key: "Escape"}));');
    const { port, data } = server;
    await server.stop('SIGKILL');
    await app.waitFor('return document.querySelector("#connection")?.dataset.state !== "connected";');
    const image = png(300, 200);
    await queueWithImage(app, 'queued, then the app restarted', 'second.png', image);
    await session.close();
    session = null;

    session = await openApp(profile);
    server = await startServer({ data, port });
    const copies = await storedOnce(server.url, token, 'queued, then the app restarted', profile);
    assert.equal(copies.length, 1, 'stored exactly once');
    assert.equal(copies[0].nick, 'ana');
    assert.ok((await fileBytes(server.url, token, copies[0].files[0])).equals(image), 'byte-identical');
    const all = (await apiHistory(server.url, token, 'general')).filter((m) => m.files?.length);
    assert.equal(all.length, 2, 'no other message with files appeared');
  });
});

// Files and images (protocol v1.1 "files") in real headless Chromium against
// a real `hearth serve`, two people in one room. ana attaches an image with
// the file input, drops a file on the room and pastes a screenshot; bo sees
// the thumbnails, opens one full size (Escape closes it) and downloads the
// originals byte-identical. A file over the server's limit is refused in
// the tray before any byte is sent; an upload under way can be cancelled.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { deflateSync } from 'node:zlib';

import { humanSize } from '../../ui/file-rules.js';
import { launchBrowser, newPage, screenshot, send, signIn, startServer, waitConnected, waitForText } from '../support.mjs';

const MAX_FILE_BYTES = 300_000;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** A real PNG (a colour gradient), made here so its bytes are known. */
function png(width, height) {
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) row.set([(x * 255 / width) | 0, (y * 255 / height) | 0, 150], 1 + x * 3);
    rows.push(row);
  }
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0)),
  ]);
}

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

let browser;
let server;
let ana;
let bo;
const uploads = []; // POST /api/files requests ana's page made
before(async () => {
  browser = await launchBrowser();
  server = await startServer({ args: ['--max-file-bytes', String(MAX_FILE_BYTES), '--post-burst', '1000', '--ip-post-burst', '1000'] });
  ana = await newPage(browser);
  bo = await newPage(browser);
  ana.on('request', (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === '/api/files') uploads.push(req.url());
  });
  await signIn(ana, server.url, 'ana');
  await signIn(bo, server.url, 'bo');
});
after(async () => {
  await server?.stop();
  await browser?.close();
});

/** bo's stored message by ana whose text is exactly `text`. */
const message = (page, text) => page.locator('#messages .message[data-id]')
  .filter({ has: page.locator('.text').getByText(text, { exact: true }) });

/** SHA-256 (hex) of what the page gets from `url` with its own session. */
const fetchedHash = (page, url) => page.evaluate(async (u) => {
  const bytes = await (await fetch(u)).arrayBuffer();
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}, url);

/** Waits until the thumbnail `img` has loaded; returns its natural size. */
async function loadedSize(img) {
  await img.waitFor();
  await img.evaluate((el) => (el.complete && el.naturalWidth > 0 ? null : new Promise((resolve, reject) => {
    el.addEventListener('load', resolve, { once: true });
    el.addEventListener('error', () => reject(new Error(`the thumbnail did not load: ${el.src}`)), { once: true });
  })));
  return img.evaluate((el) => ({ width: el.naturalWidth, height: el.naturalHeight, boxWidth: el.getAttribute('width'), boxHeight: el.getAttribute('height') }));
}

describe('files and images', () => {
  const photo = png(640, 480);
  const notes = Buffer.from('Meeting notes\n- files work\n- ünïcödé too\n'.repeat(50));

  test('the composer offers files (the server has them)', async () => {
    assert.equal(await ana.locator('#attach').isVisible(), true);
    assert.equal(await ana.locator('#attach-tray').isHidden(), true);
  });

  test('attach: a preview in the tray, text added, one message; the other sees the thumbnail and the original', async () => {
    await ana.locator('#attach-input').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: photo });
    const item = ana.locator('#tray-list > li.tray-item');
    await item.waitFor();
    assert.match(await item.textContent(), /photo\.png/);
    assert.match(await item.textContent(), new RegExp(humanSize(photo.length).replace('.', '\\.')));
    const preview = await loadedSize(item.locator('img.tray-preview'));
    assert.equal(preview.width, 640, 'the tray previews the picked image itself');
    assert.equal(uploads.length, 0, 'nothing is uploaded before Send');
    await ana.locator('#composer-text').fill('the view from the office');
    await screenshot(ana, 'files-tray');

    await send(ana, 'the view from the office');
    await ana.locator('#attach-tray').waitFor({ state: 'hidden' });
    await waitForText(bo, 'the view from the office');
    const thumb = message(bo, 'the view from the office').locator('.files button.file-thumb img');
    const size = await loadedSize(thumb);
    assert.ok(size.width > 0 && size.width <= 320 && size.height <= 320, `a thumbnail at most 320 px: ${JSON.stringify(size)}`);
    assert.deepEqual([size.boxWidth, size.boxHeight], ['320', '240'], 'the box is sized from the image before it loads');
    const full = await thumb.evaluate((el) => el.closest('.message').dataset.id);
    const history = await bo.evaluate(async () => (await fetch('/api/rooms/general/messages?limit=50')).json());
    const file = history.find((m) => m.id === full).files[0];
    assert.equal(await fetchedHash(bo, file.url), sha256(photo), 'the original, byte-identical');
    assert.equal(uploads.length, 1);
  });

  test('the viewer opens on a click and closes with Escape, focus back on the thumbnail', async () => {
    const thumb = message(bo, 'the view from the office').locator('button.file-thumb');
    await thumb.click();
    const viewer = bo.locator('#image-viewer');
    await viewer.waitFor();
    const full = await loadedSize(viewer.locator('img.viewer-image'));
    assert.deepEqual([full.width, full.height], [640, 480], 'full size, not the thumbnail');
    assert.match(await viewer.locator('.viewer-caption').textContent(), /photo\.png/);
    await screenshot(bo, 'files-viewer');
    await bo.keyboard.press('Escape');
    await viewer.waitFor({ state: 'hidden' });
    assert.equal(await thumb.evaluate((el) => el === document.activeElement), true, 'focus returns to the thumbnail');
    await thumb.click();
    await viewer.waitFor();
    await viewer.locator('.viewer-close').click();
    await viewer.waitFor({ state: 'hidden' });
  });

  test('drop: the drop target shows while dragging; a message of only a file shows a card; the download is byte-identical', async () => {
    const base64 = notes.toString('base64');
    await ana.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'notes.txt', { type: 'text/plain' }));
      window.dropped = dt;
      document.querySelector('#scroller').dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, base64);
    await ana.locator('#drop-target').waitFor();
    await ana.evaluate(() => {
      const target = document.querySelector('#scroller');
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: window.dropped, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: window.dropped, bubbles: true, cancelable: true }));
    });
    await ana.locator('#drop-target').waitFor({ state: 'hidden' });
    await ana.locator('#tray-list > li.tray-item').filter({ hasText: 'notes.txt' }).waitFor();
    await ana.locator('#composer-text').press('Enter'); // no text: just the file
    const ignored = await ana.evaluate(() => { // dropped beside the room: ignored, and the browser does not open it
      const dt = new DataTransfer();
      dt.items.add(new File(['x'], 'stray.txt', { type: 'text/plain' }));
      const drop = new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true });
      document.querySelector('#room-list').dispatchEvent(drop);
      return drop.defaultPrevented;
    });
    assert.equal(ignored, true);
    assert.equal(await ana.locator('#attach-tray').isHidden(), true);

    const card = bo.locator('#messages .message[data-id] .file-card').filter({ hasText: 'notes.txt' });
    await card.waitFor();
    assert.equal(await card.locator('.file-size').textContent(), humanSize(notes.length));
    assert.equal(await card.locator('.file-icon').textContent(), 'TXT');
    assert.equal(await card.evaluate((el) => el.closest('.message').querySelector('.text')), null, 'no empty text line');
    const [download] = await Promise.all([bo.waitForEvent('download'), card.locator('button.file-download').click()]);
    assert.equal(download.suggestedFilename(), 'notes.txt');
    assert.equal(sha256(await readFile(await download.path())), sha256(notes), 'the downloaded file is the original');
  });

  test('paste: a screenshot from the clipboard gets a name and goes as an image', async () => {
    const shot = await ana.evaluate(async () => {
      const canvas = document.createElement('canvas');
      canvas.width = 900;
      canvas.height = 300;
      const g = canvas.getContext('2d');
      g.fillStyle = '#24476b';
      g.fillRect(0, 0, 900, 300);
      g.fillStyle = '#ffd166';
      g.font = 'bold 64px sans-serif';
      g.fillText('Error 42: disk full', 60, 170);
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'image.png', { type: 'image/png' }));
      const box = document.querySelector('#composer-text');
      box.focus();
      box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
      return [...new Uint8Array(await blob.arrayBuffer())];
    });
    const item = ana.locator('#tray-list > li.tray-item');
    await item.waitFor();
    assert.match(await item.locator('.file-name').textContent(), /^screenshot-\d{4}-\d{2}-\d{2}-\d{6}\.png$/);
    assert.equal(await ana.locator('#composer-text').inputValue(), '', 'no text was pasted');
    await send(ana, 'this is what I see');
    await waitForText(bo, 'this is what I see');
    const thumb = message(bo, 'this is what I see').locator('.file-thumb img');
    const size = await loadedSize(thumb);
    assert.equal(size.width, 320, 'a 900 px wide screenshot is thumbnailed to 320');
    const url = await thumb.evaluate((el) => el.closest('.message').dataset.id);
    const history = await bo.evaluate(async () => (await fetch('/api/rooms/general/messages?limit=50')).json());
    const file = history.find((m) => m.id === url).files[0];
    assert.equal(await fetchedHash(bo, file.url), sha256(Buffer.from(shot)));
  });

  test('a file over the limit is refused in the tray, before any byte is sent', async () => {
    const before = uploads.length;
    const big = Buffer.alloc(MAX_FILE_BYTES + 1, 7);
    await ana.locator('#attach-input').setInputFiles([
      { name: 'big.bin', mimeType: 'application/octet-stream', buffer: big },
      { name: 'small.txt', mimeType: 'text/plain', buffer: Buffer.from('small and fine') },
    ]);
    const refused = ana.locator('#tray-list > li.tray-item.refused');
    await refused.waitFor();
    assert.equal(await refused.locator('.tray-refusal').textContent(),
      'big.bin is 300,001 bytes; this server takes files up to 300,000 bytes.', 'one byte over, in exact sizes');
    await send(ana, 'two files');
    assert.equal(await ana.locator('#composer-reason').textContent(), 'big.bin cannot be sent: remove it (×) to send the rest.');
    await screenshot(ana, 'files-tray-refused');
    assert.equal(await ana.locator('#composer-text').inputValue(), 'two files', 'nothing was sent: the text stays');
    assert.equal(await ana.locator('#messages .message.pending').count(), 0);
    assert.equal(uploads.length, before, 'no upload was even started');

    await refused.locator('.tray-remove').click();
    assert.equal(await ana.locator('#composer-reason').textContent(), '', 'removing it clears the refusal');
    await ana.locator('#composer-text').press('Enter');
    await waitForText(bo, 'two files');
    assert.equal(await message(bo, 'two files').locator('.file-card .file-name').textContent(), 'small.txt');
    assert.equal(uploads.length, before + 1, 'only the file the server takes was uploaded');
  });

  test('more than ten files: the tray says so', async () => {
    const files = Array.from({ length: 12 }, (_, i) => ({ name: `f${i}.txt`, mimeType: 'text/plain', buffer: Buffer.from(`file ${i}`) }));
    await ana.locator('#attach-input').setInputFiles(files);
    await ana.locator('#tray-notice').waitFor();
    assert.equal(await ana.locator('#tray-notice').textContent(), 'A message can carry up to 10 files: 2 files were not added.');
    assert.equal(await ana.locator('#tray-list > li').count(), 10);
    for (let i = 0; i < 10; i++) await ana.locator('#tray-list > li .tray-remove').first().click();
    await ana.locator('#attach-tray').waitFor({ state: 'hidden' });
  });

  test('an upload under way shows its progress and can be cancelled: nothing is posted', async () => {
    const cdp = await ana.context().newCDPSession(ana);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 40 * 1024 });
    try {
      await ana.locator('#attach-input').setInputFiles({ name: 'slow.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(250_000, 1) });
      await send(ana, 'this one is cancelled');
      const pending = ana.locator('#messages .message.pending').filter({ hasText: 'this one is cancelled' });
      await pending.locator('progress').waitFor();
      await ana.waitForFunction(() => {
        const p = document.querySelector('#messages .message.pending .file-percent');
        return p && /^\d+%$/.test(p.textContent) && parseInt(p.textContent, 10) > 0 && parseInt(p.textContent, 10) < 100;
      }, null, { timeout: 15000 });
      assert.match(await pending.locator('.status').textContent(), /^Uploading… Cancel$/);
      await screenshot(ana, 'files-uploading');
      await pending.locator('button.cancel-upload').click();
      await pending.waitFor({ state: 'detached' });
    } finally {
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    }
    await send(ana, 'after the cancelled one'); // the outbox posts in order: this one arriving means the other never will
    await waitForText(bo, 'after the cancelled one');
    const texts = await bo.$$eval('#messages .message:not(.pending) .text', (els) => els.map((e) => e.textContent));
    assert.ok(!texts.includes('this one is cancelled'));
    assert.equal(await ana.evaluate(() => localStorage.getItem('hearth.outbox.v1')), null, 'the outbox is empty');
  });

  test('a reload during an upload: the message shows failed with a sentence, its text can be edited back', async () => {
    const cdp = await ana.context().newCDPSession(ana);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 40 * 1024 });
    try {
      await ana.locator('#attach-input').setInputFiles({ name: 'halfway.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(250_000, 2) });
      await send(ana, 'sent while reloading');
      await ana.locator('#messages .message.pending progress').waitFor();
      await ana.reload(); // still throttled: the upload cannot have finished
      await ana.locator('#app').waitFor({ state: 'visible' });
    } finally {
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    }
    const failed = ana.locator('#messages .message.pending.failed').filter({ hasText: 'sent while reloading' });
    await failed.waitFor();
    assert.match(await failed.locator('.status').textContent(), /Not sent: The files were not sent before the page was reloaded: attach them again\./);
    assert.match(await failed.locator('.pending-file').textContent(), /halfway\.bin/);
    await failed.getByRole('button', { name: 'Edit' }).click();
    assert.equal(await ana.locator('#composer-text').inputValue(), 'sent while reloading');
    await ana.locator('#composer-text').fill('');
    await ana.reload(); // and it is not shown again
    await waitConnected(ana);
    assert.equal(await ana.locator('#messages .message.pending').count(), 0);
    await send(bo, 'after the reload');
    await waitForText(ana, 'after the reload');
    const texts = await bo.$$eval('#messages .message:not(.pending) .text', (els) => els.map((e) => e.textContent));
    assert.ok(!texts.includes('sent while reloading'), 'nothing was posted');
  });

  test('a room with an image and a file card (screenshot)', async () => {
    for (const page of [ana, bo]) {
      await page.locator('#new-room-name').fill('design');
      await page.locator('#new-room-name').press('Enter');
      await page.locator('#room-title', { hasText: 'design' }).waitFor();
    }
    await send(bo, 'Could you share the new landing page?');
    await waitForText(ana, 'Could you share the new landing page?');
    const mockup = Buffer.from(await ana.evaluate(async () => {
      const c = document.createElement('canvas');
      c.width = 1200;
      c.height = 800;
      const g = c.getContext('2d');
      const sky = g.createLinearGradient(0, 0, 1200, 800);
      sky.addColorStop(0, '#fbe3d2');
      sky.addColorStop(1, '#f3b48f');
      g.fillStyle = sky;
      g.fillRect(0, 0, 1200, 800);
      g.fillStyle = '#b4471f';
      g.fillRect(0, 0, 1200, 90);
      g.fillStyle = '#fff';
      g.font = 'bold 44px sans-serif';
      g.fillText('Hearth', 50, 60);
      g.fillStyle = '#231d19';
      g.font = 'bold 72px sans-serif';
      g.fillText('Chat on your own network', 80, 300);
      g.font = '36px sans-serif';
      g.fillText('No cloud. No accounts. Just your team.', 80, 370);
      g.fillStyle = '#b4471f';
      g.fillRect(80, 440, 320, 90);
      g.fillStyle = '#fff';
      g.font = 'bold 36px sans-serif';
      g.fillText('Get started', 140, 498);
      const blob = await new Promise((resolve) => c.toBlob(resolve, 'image/jpeg', 0.85));
      return [...new Uint8Array(await blob.arrayBuffer())];
    }));
    await ana.locator('#attach-input').setInputFiles([
      { name: 'landing-page.jpg', mimeType: 'image/jpeg', buffer: mockup },
      { name: 'launch-brief.pdf', mimeType: 'application/pdf', buffer: Buffer.from(`%PDF-1.4\n${'brief '.repeat(30000)}\n%%EOF\n`) },
    ]);
    await ana.locator('#tray-list > li').nth(1).waitFor();
    await send(ana, 'Here it is, with the brief for Thursday.');
    await waitForText(bo, 'Here it is, with the brief for Thursday.');
    await loadedSize(message(bo, 'Here it is, with the brief for Thursday.').locator('.file-thumb img'));
    await send(bo, 'Looks great, thanks!');
    await waitForText(bo, 'Looks great, thanks!');
    await bo.mouse.move(5, 790);
    await screenshot(bo, 'files');

    const phone = await newPage(browser, { width: 360, height: 740 }, 'dark');
    await signIn(phone, server.url, 'cy', 'design');
    const thumb = message(phone, 'Here it is, with the brief for Thursday.').locator('.file-thumb');
    await loadedSize(thumb.locator('img'));
    await thumb.scrollIntoViewIfNeeded();
    const fits = await phone.evaluate(() => {
      const scroller = document.querySelector('#scroller');
      const right = scroller.getBoundingClientRect().right;
      return {
        noSideScroll: scroller.scrollWidth <= scroller.clientWidth,
        inside: [...document.querySelectorAll('.file-thumb, .file-card')].every((el) => el.getBoundingClientRect().right <= right),
      };
    });
    assert.deepEqual(fits, { noSideScroll: true, inside: true }, 'on a 360 px phone the image and the card fit');
    await screenshot(phone, 'files-phone-dark');
    assert.deepEqual(phone.consoleErrors, []);
    await phone.context().close();
    assert.deepEqual(ana.consoleErrors, []);
    assert.deepEqual(bo.consoleErrors, []);
  });
});

// The chat view's rules of files (ui/file-rules.js): sizes for people, the
// server's limit and its sentence, the tray's rules, names, thumbnail boxes.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  MAX_FILES, addToTray, filesEnabled, filesLabel, humanSize, iconLabel, maxFileBytes, percent, previewable, safeName,
  showsAsImage, sizeRefusal, thumbBox, trayRefusal,
} from '../../ui/file-rules.js';

const MiB = 1024 * 1024;
const file = (name, size = 1) => ({ kind: 'blob', name, size, type: 'application/octet-stream' });

describe('file sizes for people', () => {
  test('bytes, then one decimal in KB, MB, GB; whole numbers without ".0"', () => {
    assert.equal(humanSize(0), '0 bytes');
    assert.equal(humanSize(1), '1 byte');
    assert.equal(humanSize(1023), '1023 bytes');
    assert.equal(humanSize(1024), '1 KB');
    assert.equal(humanSize(1536), '1.5 KB');
    assert.equal(humanSize(25 * MiB), '25 MB');
    assert.equal(humanSize(31.2 * MiB), '31.2 MB');
    assert.equal(humanSize(150 * MiB + 300 * 1024), '150 MB');
    assert.equal(humanSize(1024 * MiB - 1), '1 GB', 'rounding up to 1024 MB reads as the next unit');
    assert.equal(humanSize(3 * 1024 * MiB), '3 GB');
  });
});

describe('the server\'s file limit', () => {
  test('files only when /api/info lists them; the limit from max_file_bytes', () => {
    assert.equal(filesEnabled({ features: ['log', 'files'] }), true);
    assert.equal(filesEnabled({ features: ['log'] }), false);
    assert.equal(filesEnabled({}), false, 'a v1 server has no features');
    assert.equal(filesEnabled(null), false);
    assert.equal(maxFileBytes({ max_file_bytes: 26214400 }), 26214400);
    assert.equal(maxFileBytes({}), null);
  });

  test('a file over the limit gets a sentence naming the file, its size and the limit', () => {
    assert.equal(sizeRefusal('photo.png', 31.2 * MiB, 25 * MiB), 'photo.png is 31.2 MB; this server takes files up to 25 MB.');
    assert.equal(sizeRefusal('exact.bin', 25 * MiB, 25 * MiB), '', 'exactly the limit is fine');
    assert.equal(sizeRefusal('big.bin', 25 * MiB + 1, 25 * MiB), 'big.bin is 26,214,401 bytes; this server takes files up to 26,214,400 bytes.',
      'one byte over: exact sizes, where rounded ones would read the same');
    assert.equal(sizeRefusal('any.bin', 10 ** 12, null), '', 'an unknown limit refuses nothing here (the server still may)');
    assert.equal(sizeRefusal('empty.txt', 0, 25 * MiB), 'empty.txt is empty: there is nothing to send.', 'the server refuses empty files');
  });
});

describe('the tray', () => {
  test('a file over the limit goes in refused, and holds back Send until removed', () => {
    const { items, notice } = addToTray([], [file('a.txt', 10), file('photo.png', 31.2 * MiB)], 25 * MiB);
    assert.equal(notice, '');
    assert.deepEqual(items.map((i) => [i.attachment.name, i.refusal]), [
      ['a.txt', ''],
      ['photo.png', 'photo.png is 31.2 MB; this server takes files up to 25 MB.'],
    ]);
    assert.equal(trayRefusal(items), 'photo.png cannot be sent: remove it (×) to send the rest.');
    assert.equal(trayRefusal(items.slice(0, 1)), '');
    const two = addToTray(items, [file('b.iso', 40 * MiB)], 25 * MiB).items;
    assert.equal(trayRefusal(two), '2 files cannot be sent: remove them (×) to send the rest.');
  });

  test(`at most ${MAX_FILES} files: the rest are left out with a sentence`, () => {
    const eight = addToTray([], Array.from({ length: 8 }, (_, i) => file(`f${i}`, 1)), null).items;
    const { items, notice } = addToTray(eight, [file('x', 1), file('y', 1), file('z', 1)], null);
    assert.equal(items.length, MAX_FILES);
    assert.deepEqual(items.slice(8).map((i) => i.attachment.name), ['x', 'y']);
    assert.equal(notice, 'A message can carry up to 10 files: 1 file was not added.');
    assert.equal(addToTray(items, [file('q', 1), file('r', 1)], null).notice, 'A message can carry up to 10 files: 2 files were not added.');
  });

  test('images of the types browsers show are previewed; others show name and size', () => {
    assert.equal(previewable('image/png'), true);
    assert.equal(previewable('IMAGE/JPEG'), true);
    assert.equal(previewable('image/svg+xml'), false, 'an SVG is a document, not previewed');
    assert.equal(previewable('application/pdf'), false);
    assert.equal(previewable(''), false);
  });
});

describe('file names', () => {
  test('names the server would refuse are mended; a pasted screenshot gets one', () => {
    assert.equal(safeName('report.pdf'), 'report.pdf');
    assert.equal(safeName('a/b\\c\u0007.txt'), 'a_b_c_.txt');
    const at = new Date(2026, 11, 6, 9, 5, 7).getTime();
    assert.equal(safeName('', 'image/png', at), 'screenshot-2026-12-06-090507.png');
    assert.equal(safeName(undefined, 'text/plain', at), 'screenshot-2026-12-06-090507');
    const long = `${'n'.repeat(300)}.jpeg`;
    const mended = safeName(long);
    assert.equal([...mended].length, 255);
    assert.ok(mended.endsWith('.jpeg'), 'the extension is kept');
  });
});

describe('thumbnails and cards', () => {
  test('the box keeps the image\'s shape, never grows it, fits 320×240', () => {
    assert.deepEqual(thumbBox(1600, 1200), { width: 320, height: 240 });
    assert.deepEqual(thumbBox(1200, 1600), { width: 180, height: 240 });
    assert.deepEqual(thumbBox(4000, 100), { width: 320, height: 8 });
    assert.deepEqual(thumbBox(100, 50), { width: 100, height: 50 }, 'small images keep their size');
    assert.deepEqual(thumbBox(10000, 1), { width: 320, height: 1 }, 'at least one pixel');
    assert.equal(thumbBox(undefined, 10), null, 'unknown size: no box');
    assert.equal(thumbBox(0, 0), null);
  });

  test('a file with a thumbnail shows as an image; others as a card with their extension', () => {
    assert.equal(showsAsImage({ name: 'a.png', thumb_url: '/api/files/x/thumb' }), true);
    assert.equal(showsAsImage({ name: 'a.png' }), false, 'no thumbnail (not an image, or a bomb): a card');
    assert.equal(iconLabel('report.pdf'), 'PDF');
    assert.equal(iconLabel('archive.tar.gz'), 'GZ');
    assert.equal(iconLabel('README'), 'FILE');
    assert.equal(iconLabel('strange.extension'), 'FILE');
  });

  test('a message of only files is quoted by its file names', async () => {
    const { replyTarget } = await import('../../ui/action-rules.js');
    const msg = { id: 'm1', nick: 'ana', text: '', files: [{ name: 'photo.png' }, { name: 'notes.txt' }] };
    assert.equal(filesLabel(msg.files), '📎 photo.png, notes.txt');
    assert.equal(replyTarget(msg).text, '📎 photo.png, notes.txt');
    assert.equal(replyTarget({ ...msg, text: 'look' }).text, 'look', 'text first');
    assert.equal(filesLabel(undefined), '');
  });

  test('upload percent, whole, 0 to 100', () => {
    assert.equal(percent(0, 1000), 0);
    assert.equal(percent(999, 1000), 99, 'not 100 before the last byte');
    assert.equal(percent(1000, 1000), 100);
    assert.equal(percent(5000, 1000), 100);
    assert.equal(percent(0, 0), 100, 'an empty file is done at once');
  });
});

// The web outbox with files (ui/web-outbox.js): uploads first, with
// progress, then one post with the upload ids under the entry's client id;
// a failed upload is retried without posting twice; Cancel (discard) aborts
// the upload; after a reload an entry whose files were all uploaded is
// posted, and one whose bytes were lost fails with a sentence.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import { TransportError } from '../../ui/transport-error.js';

const data = new Map();
before(() => {
  globalThis.window = {
    localStorage: {
      getItem: (k) => (data.has(k) ? data.get(k) : null),
      setItem: (k, v) => data.set(k, String(v)),
      removeItem: (k) => data.delete(k),
    },
  };
});
after(() => {
  delete globalThis.window;
});
beforeEach(() => data.clear());

/** An outbox over fake io: uploads answer when the test says (`finish`), posts at once. */
async function outboxWith({ failUploads = 0, holdPosts = false } = {}) {
  const { WebOutbox } = await import('../../ui/web-outbox.js');
  const log = { uploads: [], posts: [], updates: [], aborted: [] };
  let failures = failUploads;
  let n = 0;
  const io = {
    upload(blob, name, { onProgress }) {
      const job = { name, size: blob.size };
      job.promise = new Promise((resolve, reject) => {
        job.finish = () => {
          onProgress(Math.floor(blob.size / 2));
          onProgress(blob.size);
          if (failures > 0) {
            failures -= 1;
            reject(new TransportError(0, 'Cannot reach the server.'));
          } else {
            n += 1;
            resolve({ id: `file-${n}`, name, size: blob.size });
          }
        };
        job.abort = () => {
          log.aborted.push(name);
          const err = new TransportError(0, 'The upload was cancelled.');
          reject(err);
        };
      });
      log.uploads.push(job);
      return { promise: job.promise, abort: () => job.abort() };
    },
    async post(room, text, clientId, replyTo, fileIds) {
      log.posts.push({ room, text, clientId, fileIds });
      if (holdPosts) await new Promise(() => {}); // its answer never comes (the page goes away)
      return { message: { id: `m-${log.posts.length}`, room, text, client_id: clientId } };
    },
    onUpdate: (u) => log.updates.push(u),
    onAuthError: () => {},
  };
  const outbox = new WebOutbox(io);
  outbox.setNick('ana');
  return { outbox, log, io, WebOutbox };
}

const until = async (cond) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'condition not reached');
};
const blobFile = (name, text) => ({ kind: 'blob', blob: new Blob([text]), name, size: text.length, type: 'text/plain' });

describe('the web outbox with files', () => {
  test('uploads each file with progress, then posts once with their ids', async () => {
    const { outbox, log } = await outboxWith();
    const entry = await outbox.enqueue('general', 'two files', { files: [blobFile('a.txt', 'aaaa'), blobFile('b.txt', 'bb')] });
    assert.deepEqual(entry.files.map((f) => [f.name, f.size, f.sent]), [['a.txt', 4, 0], ['b.txt', 2, 0]]);
    outbox.streamState('open');
    await until(() => log.uploads.length === 1);
    assert.equal(log.posts.length, 0, 'no post before the uploads');
    log.uploads[0].finish();
    await until(() => log.uploads.length === 2);
    const stored = JSON.parse(data.get('hearth.outbox.v1'));
    assert.deepEqual(stored[0].files, [{ name: 'a.txt', size: 4, type: 'text/plain', fileId: 'file-1' }, { name: 'b.txt', size: 2, type: 'text/plain' }],
      'the upload id is kept with the stored entry');
    log.uploads[1].finish();
    await until(() => log.posts.length === 1);
    assert.deepEqual(log.posts[0].fileIds, ['file-1', 'file-2']);
    assert.equal(log.posts[0].clientId, entry.clientId);
    const progress = log.updates.filter((u) => u.state === 'sending').map((u) => u.files.map((f) => f.sent));
    assert.deepEqual(progress.at(-1), [4, 2]);
    assert.ok(progress.some((p) => p[0] === 2), 'half of the first file was reported');
    assert.equal(log.updates.at(-1).state, 'sent');
    assert.equal(data.get('hearth.outbox.v1'), undefined, 'sent: forgotten');
  });

  test('a failed upload is tried again; the message is posted once', async () => {
    const { outbox, log } = await outboxWith({ failUploads: 1 });
    await outbox.enqueue('general', '', { files: [blobFile('a.txt', 'aaaa')] });
    outbox.streamState('open');
    await until(() => log.uploads.length === 1);
    log.uploads[0].finish();
    await until(() => log.updates.some((u) => u.state === 'queued' && u.waitReason === 'network'));
    outbox.streamState('down');
    outbox.streamState('open'); // the stream is back: due now
    await until(() => log.uploads.length === 2);
    log.uploads[1].finish();
    await until(() => log.posts.length === 1);
    assert.deepEqual(log.posts[0].fileIds, ['file-1']);
    assert.equal(log.posts[0].text, '', 'a message of only files');
  });

  test('Cancel (discard) aborts the upload in flight; nothing is posted', async () => {
    const { outbox, log } = await outboxWith();
    const entry = await outbox.enqueue('general', 'never mind', { files: [blobFile('a.txt', 'aaaa')] });
    outbox.streamState('open');
    await until(() => log.uploads.length === 1);
    assert.equal(await outbox.discard(entry.clientId), true);
    assert.deepEqual(log.aborted, ['a.txt']);
    await outbox.enqueue('general', 'next one');
    await until(() => log.posts.length === 1);
    assert.equal(log.posts[0].text, 'next one');
    assert.deepEqual(await outbox.pending(), []);
  });

  test('after a reload: uploaded files are posted; files whose bytes were lost fail with a sentence', async () => {
    const first = await outboxWith({ holdPosts: true });
    const done = await first.outbox.enqueue('general', 'uploaded before the reload', { files: [blobFile('a.txt', 'aaaa')] });
    const lost = await first.outbox.enqueue('general', 'not uploaded', { files: [blobFile('b.txt', 'bb')] });
    first.outbox.streamState('open');
    await until(() => first.log.uploads.length === 1);
    first.log.uploads[0].finish();
    await until(() => first.log.posts.length === 1); // uploaded, and its post under way
    assert.equal(JSON.parse(data.get('hearth.outbox.v1'))[0].files[0].fileId, 'file-1');
    first.outbox.reset(); // the page goes away mid-way (its Blobs with it)

    const { RELOADED } = await import('../../ui/web-outbox.js');
    const second = await outboxWith();
    const pending = await second.outbox.pending();
    assert.deepEqual(pending.map((e) => [e.clientId, e.state, e.error]), [
      [done.clientId, 'queued', ''],
      [lost.clientId, 'failed', RELOADED],
    ]);
    assert.equal(RELOADED, 'The files were not sent before the page was reloaded: attach them again.');
    assert.deepEqual(pending[0].files.map((f) => [f.sent, f.fileId]), [[4, 'file-1']], 'shown as uploaded');
    second.outbox.streamState('open');
    await until(() => second.log.posts.length === 1);
    assert.deepEqual(second.log.posts[0], { room: 'general', text: 'uploaded before the reload', clientId: done.clientId, fileIds: ['file-1'] });
    assert.equal(second.log.uploads.length, 0, 'nothing uploaded twice');
    assert.deepEqual(JSON.parse(data.get('hearth.outbox.v1') || '[]'), [], 'the failed entry is not kept for another reload');
  });

  test('a browser sends only files it was given (no paths)', async () => {
    const { outbox } = await outboxWith();
    await assert.rejects(outbox.enqueue('general', 'x', { files: [{ kind: 'path', path: '/etc/passwd', name: 'passwd', size: 1 }] }),
      (err) => err.kind === 'invalid');
  });
});

// When the web outbox posts, waits, retries or gives up (ui/outbox-rules.js),
// and its send loop (ui/web-outbox.js) with a fake post.

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';

import { BACKOFF_CAP_MS, afterPostError, nextStep, streamBack } from '../../ui/outbox-rules.js';
import { TransportError } from '../../ui/transport-error.js';
import { WebOutbox } from '../../ui/web-outbox.js';

const NOW = 1_000_000;
const error = (status, message = 'no', extra = {}) => new TransportError(status, message, extra);

describe('after a failed post', () => {
  test('429 waits Retry-After seconds ("slow"), 1 s without one', () => {
    assert.deepEqual(afterPostError(error(429, 'slow down', { retryAfter: 5 }), 2, NOW),
      { action: 'wait', failures: 2, waitReason: 'slow', retryAt: NOW + 5000 });
    assert.equal(afterPostError(error(429), 0, NOW).retryAt, NOW + 1000);
  });

  test('transient failures back off 1 s·2^n, at most 30 s', () => {
    const waits = [];
    let failures = 0;
    for (let i = 0; i < 7; i++) {
      const next = afterPostError(error(503), failures, NOW);
      assert.equal(next.action, 'wait');
      assert.equal(next.waitReason, 'network');
      waits.push(next.retryAt - NOW);
      failures = next.failures;
    }
    assert.deepEqual(waits, [2000, 4000, 8000, 16000, BACKOFF_CAP_MS, BACKOFF_CAP_MS, BACKOFF_CAP_MS]);
  });

  test('a Retry-After on a transient failure is a minimum', () => {
    assert.equal(afterPostError(error(503, 'busy', { retryAfter: 20 }), 0, NOW).retryAt, NOW + 20_000);
  });

  test('no answer at all is a network failure, retried', () => {
    const next = afterPostError(error(0, 'Cannot reach the server.'), 0, NOW);
    assert.equal(next.action, 'wait');
    assert.equal(next.waitReason, 'network');
  });

  test('refusals fail for good with the server\'s sentence', () => {
    for (const status of [400, 403, 404, 409, 413]) {
      assert.deepEqual(afterPostError(error(status, 'the text is too long'), 1, NOW),
        { action: 'fail', failures: 1, error: 'the text is too long' });
    }
  });

  test('401 ends the session', () => {
    assert.equal(afterPostError(error(401), 0, NOW).action, 'auth');
    assert.equal(afterPostError(TransportError.ofKind('unauthorized', 'gone'), 0, NOW).action, 'auth');
  });

  test('the branch is on the kind, not the status or the text', () => {
    const refused = TransportError.ofKind('invalid', 'Cannot reach the server.');
    assert.equal(afterPostError(refused, 0, NOW).action, 'fail');
    assert.equal(afterPostError(TransportError.ofKind('rate_limited', 'x', { retryAfter: 2 }), 0, NOW).waitReason, 'slow');
  });
});

describe('the send order', () => {
  const entry = (clientId, fields = {}) => ({ clientId, state: 'queued', waitReason: null, retryAt: 0, ...fields });

  test('the oldest queued entry goes first; failed and sending ones are skipped', () => {
    const a = entry('a', { state: 'failed' });
    const b = entry('b');
    assert.deepEqual(nextStep([a, b, entry('c')], NOW), { send: b });
    assert.equal(nextStep([a], NOW), null);
  });

  test('a waiting entry holds the later ones back', () => {
    const a = entry('a', { waitReason: 'slow', retryAt: NOW + 3000 });
    assert.deepEqual(nextStep([a, entry('b')], NOW), { waitMs: 3000 });
  });

  test('the stream coming back ends network waits, not rate-limit ones', () => {
    const net = entry('a', { waitReason: 'network', retryAt: NOW + 9000 });
    const slow = entry('b', { waitReason: 'slow', retryAt: NOW + 9000 });
    streamBack([net, slow]);
    assert.equal(net.retryAt, 0);
    assert.equal(slow.retryAt, NOW + 9000);
  });
});

describe('the web outbox loop', () => {
  const boxes = [];
  afterEach(() => {
    for (const box of boxes.splice(0)) box.reset(); // no retry timer outlives its test
  });

  /** A WebOutbox whose post answers from `answers` (an error to throw, or a message). */
  function outbox(answers) {
    const updates = [];
    const posted = [];
    const auth = [];
    const box = new WebOutbox({
      post: async (room, text, clientId) => {
        posted.push({ room, text, clientId });
        const answer = answers.shift();
        if (answer instanceof Error) throw answer;
        return { message: { id: `m-${posted.length}`, room, nick: 'ana', text, client_id: clientId } };
      },
      onUpdate: (u) => updates.push(u),
      onAuthError: (message) => auth.push(message),
    });
    box.setNick('ana');
    boxes.push(box);
    return { box, updates, posted, auth };
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

  test('posts in order once the stream is up, and forgets what was sent', async () => {
    const { box, updates, posted } = outbox([]);
    await box.enqueue('general', 'one');
    await box.enqueue('general', 'two');
    await settle();
    assert.equal(posted.length, 0, 'not while the stream is down');
    box.streamState('open');
    await settle();
    assert.deepEqual(posted.map((p) => p.text), ['one', 'two']);
    const sent = updates.filter((u) => u.state === 'sent');
    assert.deepEqual(sent.map((u) => u.message.text), ['one', 'two']);
    assert.equal(sent[0].messageId, 'm-1');
    assert.deepEqual(await box.pending(), []);
  });

  test('a refusal fails that entry and the next one still goes', async () => {
    const { box, updates, posted } = outbox([error(413, 'too long')]);
    box.streamState('open');
    const first = await box.enqueue('general', 'x'.repeat(10));
    await box.enqueue('general', 'short');
    await settle();
    assert.equal(posted.length, 2);
    assert.deepEqual(updates.find((u) => u.state === 'failed'), {
      clientId: first.clientId, room: 'general', text: 'x'.repeat(10), createdAt: first.createdAt,
      state: 'failed', error: 'too long', messageId: null, waitReason: null, retryAt: 0,
    });
    assert.deepEqual((await box.pending()).map((e) => e.state), ['failed'], 'kept until discarded');
    assert.equal(await box.discard(first.clientId), true);
    assert.deepEqual(await box.pending(), []);
  });

  test('a network failure waits and retries with the same client id when the stream is back', async () => {
    const { box, posted } = outbox([error(0, 'Cannot reach the server.')]);
    box.streamState('open');
    await box.enqueue('general', 'hi');
    await settle();
    const [waiting] = await box.pending();
    assert.equal(waiting.state, 'queued');
    assert.equal(waiting.waitReason, 'network');
    box.streamState('down');
    box.streamState('open');
    await settle();
    assert.equal(posted.length, 2);
    assert.equal(posted[0].clientId, posted[1].clientId);
    assert.deepEqual(await box.pending(), []);
  });

  test('a 401 ends the session and keeps the entry', async () => {
    const { box, auth } = outbox([error(401, 'session expired')]);
    box.streamState('open');
    await box.enqueue('general', 'hi');
    await settle();
    assert.deepEqual(auth, ['session expired']);
    assert.equal((await box.pending())[0].state, 'queued');
  });

  test('the stream showing the message settles its entry', async () => {
    const { box, posted } = outbox([]);
    const entry = await box.enqueue('general', 'hi');
    box.seen({ id: 'm-9', room: 'general', nick: 'ana', client_id: entry.clientId });
    box.streamState('open');
    await settle();
    assert.equal(posted.length, 0);
    assert.deepEqual(await box.pending(), []);
  });
});

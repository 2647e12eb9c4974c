// How many messages a room keeps (ui/cap-rules.js): what goes and when,
// alone and through the chat state (ui/chat-state.js) and a room
// (ui/room-log.js): the unread line's message, "has older", a pending
// entry's quote of a dropped message.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { MAX_MESSAGES, oldestToDrop } from '../../ui/cap-rules.js';
import { ChatState } from '../../ui/chat-state.js';
import { PAGE_SIZE } from '../../ui/limits.js';

let seq = 0;
const msg = (room, fields = {}) => ({ id: `id-${++seq}`, room, nick: 'bo', text: `t${seq}`, ts: 0, client_id: null, ...fields });

function signedIn(current = 'general') {
  const state = new ChatState(PAGE_SIZE);
  state.me = 'ana';
  state.current = current;
  return state;
}

/** `n` messages added to `room` of `state`; returns them. */
function fill(state, room, n) {
  const sent = Array.from({ length: n }, () => msg(room));
  for (const m of sent) state.addMessage(m);
  return sent;
}

describe('oldestToDrop', () => {
  test('nothing under or at the cap', () => {
    assert.equal(oldestToDrop(0), 0);
    assert.equal(oldestToDrop(MAX_MESSAGES), 0);
    assert.equal(oldestToDrop(MAX_MESSAGES, { onScreen: true, atBottom: true }), 0);
  });

  test('a room off screen drops what is over the cap, at once', () => {
    assert.equal(oldestToDrop(MAX_MESSAGES + 1), 1);
    assert.equal(oldestToDrop(MAX_MESSAGES + 250), 250);
    assert.equal(oldestToDrop(12, { cap: 10 }), 2);
  });

  test('the room on screen: only while the reader is at the bottom', () => {
    assert.equal(oldestToDrop(MAX_MESSAGES + 40, { onScreen: true, atBottom: false }), 0);
    assert.equal(oldestToDrop(MAX_MESSAGES + 40, { onScreen: true, atBottom: true }), 40);
  });

  test('never while older history loads into the room', () => {
    assert.equal(oldestToDrop(MAX_MESSAGES + 40, { onScreen: true, atBottom: true, loading: true }), 0);
    assert.equal(oldestToDrop(MAX_MESSAGES + 40, { loading: true }), 0);
  });

  test('the cap holds several history pages', () => {
    assert.ok(MAX_MESSAGES >= 2 * PAGE_SIZE);
  });
});

describe('ChatState.trim', () => {
  test('a room off screen keeps the newest MAX_MESSAGES; older ones can be loaded again', () => {
    const state = signedIn('general');
    const room = state.ensureRoom('other');
    let dropped = 0;
    let last;
    for (let i = 0; i < MAX_MESSAGES + 30; i++) {
      [last] = fill(state, 'other', 1);
      dropped += state.trim(room);
      assert.ok(room.messages.length <= MAX_MESSAGES);
    }
    assert.equal(dropped, 30);
    assert.equal(room.messages.at(-1).id, last.id);
    assert.equal(room.ids.size, MAX_MESSAGES, 'dropped ids are forgotten');
    assert.equal(room.hasOlder, true);
  });

  test('the room on screen: kept while the reader is scrolled up, trimmed back at the bottom', () => {
    const state = signedIn('general');
    const room = state.ensureRoom('general');
    const sent = fill(state, 'general', MAX_MESSAGES + 25);
    room.hasOlder = false;
    assert.equal(state.trim(room, { atBottom: false }), 0);
    assert.equal(room.messages.length, MAX_MESSAGES + 25);
    assert.equal(state.trim(room, { atBottom: true }), 25);
    assert.deepEqual(room.messages.map((m) => m.id), sent.slice(25).map((m) => m.id));
    assert.equal(room.hasOlder, true);
    assert.equal(room.ids.has(sent[0].id), false);
  });

  test('not while a page of older history is on its way', () => {
    const state = signedIn('general');
    const room = state.ensureRoom('general');
    fill(state, 'general', MAX_MESSAGES + 5);
    room.loadingOlder = true;
    assert.equal(state.trim(room, { atBottom: true }), 0);
    room.loadingOlder = false;
    assert.equal(state.trim(room, { atBottom: true }), 5);
  });

  test('a dropped message comes back with an older page, in order', () => {
    const state = signedIn('general');
    const room = state.ensureRoom('general');
    const sent = fill(state, 'general', MAX_MESSAGES + PAGE_SIZE);
    state.trim(room, { atBottom: true });
    const fresh = state.addOlder(room, sent.slice(0, PAGE_SIZE));
    assert.equal(fresh.length, PAGE_SIZE);
    assert.deepEqual(room.messages.map((m) => m.id), sent.map((m) => m.id));
  });

  test('the unread line\'s message dropped: no line', () => {
    const state = signedIn('general');
    const room = state.ensureRoom('general');
    const sent = fill(state, 'general', MAX_MESSAGES + 3);
    room.newSince = sent[1].id;
    state.trim(room, { atBottom: true });
    assert.equal(room.newSince, null);
    room.newSince = sent[10].id;
    fill(state, 'general', 2);
    state.trim(room, { atBottom: true });
    assert.equal(room.newSince, sent[10].id, 'a line still in the kept messages stays');
  });

  test('a message deleted after the cap dropped it does not come back with an older page', () => {
    const state = signedIn('general');
    const room = state.ensureRoom('general');
    const sent = fill(state, 'general', MAX_MESSAGES + 1);
    state.trim(room, { atBottom: true });
    assert.equal(state.applyEntry('delete', { room: 'general', id: sent[0].id }).removed, null);
    assert.deepEqual(state.addOlder(room, [sent[0]]), []);
    assert.equal(room.messages[0].id, sent[1].id);
  });

  test('entries for a dropped message change nothing', () => {
    const state = signedIn('general');
    const room = state.ensureRoom('general');
    const sent = fill(state, 'general', MAX_MESSAGES + 1);
    state.trim(room, { atBottom: true });
    const gone = sent[0].id;
    assert.equal(state.applyEntry('edit', { ...sent[0], text: 'changed' }).changed, null);
    assert.equal(state.applyEntry('reaction', { room: 'general', id: gone, emoji: '👍', nick: 'cy', added: true }).changed, null);
    assert.equal(state.applyEntry('delete', { room: 'general', id: gone }).removed, null);
    assert.equal(room.messages.length, MAX_MESSAGES);
  });
});

describe('a pending reply to a dropped message', () => {
  const queued = (fields = {}) => ({ clientId: 'c1', room: 'general', text: 'answer', createdAt: 0, state: 'queued', ...fields });

  test('keeps the quote it showed; loses it once the original is deleted', () => {
    const state = signedIn('general');
    const room = state.ensureRoom('general');
    const sent = fill(state, 'general', MAX_MESSAGES);
    const entry = state.addPending(queued({ replyTo: sent[0].id }));
    assert.equal(state.withStatusText(entry, 0).reply.id, sent[0].id);
    fill(state, 'general', 1);
    state.trim(room, { atBottom: true });
    assert.equal(room.ids.has(sent[0].id), false);
    assert.equal(state.withStatusText(entry, 0).reply.id, sent[0].id, 'the quote stays');
    assert.equal(state.replyOf(entry).text, sent[0].text);
    state.applyEntry('delete', { room: 'general', id: sent[0].id });
    assert.equal(state.withStatusText(entry, 0).reply, null);
  });
});

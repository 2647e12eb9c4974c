// The chat view's rules (ui/chat-state.js), without a browser: message
// order, dedupe by id, trimming, what `ready` means, pending entries and
// their status texts, the connection indicator.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  ChatState, MAX_FOLLOW, MISSED, statusText,
} from '../../ui/chat-state.js';

const PAGE = 50;
let seq = 0;
const msg = (room, fields = {}) => ({ id: `id-${++seq}`, room, nick: 'bo', text: `t${seq}`, ts: 0, client_id: null, ...fields });

function signedIn(current = 'general') {
  const state = new ChatState(PAGE);
  state.me = 'ana';
  state.current = current;
  return state;
}

/** n messages of `room` replayed, then its `ready`. */
function replay(state, room, n, resumed = false) {
  const sent = Array.from({ length: n }, () => msg(room));
  for (const m of sent) state.addMessage(m);
  state.ready({ room, resumed, last_id: sent.at(-1)?.id ?? null });
  return sent;
}

describe('messages', () => {
  test('are kept in arrival order, older pages before them', () => {
    const state = signedIn();
    const a = msg('general');
    const b = msg('general');
    state.addMessage(a);
    state.addMessage(b);
    const room = state.rooms.get('general');
    const older = [msg('general'), msg('general')];
    assert.deepEqual(state.addOlder(room, older), older);
    assert.deepEqual(room.messages.map((m) => m.id), [older[0].id, older[1].id, a.id, b.id]);
  });

  test('are deduplicated by id, from the stream and from history', () => {
    const state = signedIn();
    const a = msg('general');
    assert.equal(state.addMessage(a).fresh, true);
    assert.equal(state.addMessage({ ...a }).fresh, false);
    const room = state.rooms.get('general');
    assert.deepEqual(state.addOlder(room, [a]), []);
    assert.equal(room.messages.length, 1);
  });

  test('that are not messages are ignored', () => {
    const state = signedIn();
    assert.equal(state.addMessage({ room: 'general' }), null);
    assert.equal(state.addMessage(msg('Not A Room')), null);
    assert.equal(state.rooms.size, 0);
  });

  // Trimming to the cap: e2e/unit/cap-rules.test.mjs.

  test('a history page shorter than the page size means there is no older one', () => {
    const state = signedIn();
    const room = state.ensureRoom('general');
    state.addOlder(room, Array.from({ length: PAGE }, () => msg('general')));
    assert.equal(room.hasOlder, true);
    state.addOlder(room, [msg('general')]);
    assert.equal(room.hasOlder, false);
  });
});

describe('ready', () => {
  test('a fresh start that replays less than a page: nothing older exists', () => {
    const state = signedIn();
    state.streamOpen();
    replay(state, 'general', 3);
    assert.equal(state.rooms.get('general').hasOlder, false);
    replay(state, 'full', PAGE);
    assert.equal(state.rooms.get('full').hasOlder, true);
  });

  test('a resumed stream changes nothing', () => {
    const state = signedIn();
    state.streamOpen();
    replay(state, 'general', 1, true);
    assert.equal(state.rooms.get('general').hasOlder, true);
    assert.equal(state.rooms.get('general').primed, true);
  });

  test('"You may have missed messages" only after a drop that could not resume', () => {
    const state = signedIn();
    state.streamOpen();
    replay(state, 'general', 2);
    assert.equal(state.rooms.get('general').notice, '', 'not on the first start');
    state.streamDown({ retryInMs: 1000, message: 'lost' }, 0);
    state.streamOpen();
    replay(state, 'general', 0, true);
    assert.equal(state.rooms.get('general').notice, '', 'resumed: nothing missed');
    state.streamDown({ retryInMs: 1000, message: 'lost' }, 0);
    state.streamOpen();
    replay(state, 'general', 0, false);
    assert.equal(state.rooms.get('general').notice, MISSED);
    assert.deepEqual(state.noticeLines(0), [MISSED]);
    state.dismissNotice();
    assert.deepEqual(state.noticeLines(0), []);
  });

  test('a room that had no messages before the drop gets no notice', () => {
    const state = signedIn();
    state.streamOpen();
    replay(state, 'empty', 0);
    state.streamOpen();
    replay(state, 'empty', 0);
    assert.equal(state.rooms.get('empty').notice, '');
  });
});

describe('following', () => {
  test('the current room and the listed ones, at most 50, sorted', () => {
    const state = signedIn('zz-current');
    state.setListed(Array.from({ length: 60 }, (_, i) => ({ room: `room-${String(i).padStart(2, '0')}`, online: 1 })));
    const want = state.followSet();
    assert.equal(want.length, MAX_FOLLOW);
    assert.ok(want.includes('zz-current'));
    assert.deepEqual(want, [...want].sort());
  });

  test('refollows only when the rooms or the current room change', () => {
    const state = signedIn('general');
    state.setListed([{ room: 'general' }, { room: 'dev' }]);
    assert.deepEqual(state.takeFollowChange(), ['dev', 'general']);
    assert.equal(state.takeFollowChange(), null);
    state.current = 'dev';
    assert.deepEqual(state.takeFollowChange(), ['dev', 'general']);
  });

  test('the room on screen shows no unread count', () => {
    const state = signedIn('general');
    state.setUnread({ room: 'general', count: 4 });
    state.setUnread({ room: 'dev', count: 2 });
    assert.equal(state.unreadOf(state.rooms.get('general')), 0);
    assert.equal(state.unreadTotal, 2);
  });

  test('an unread event\'s mentions are kept beside the count', () => {
    const state = signedIn('general');
    assert.equal(state.setUnread({ room: 'dev', count: 3, mentions: 1 }).mentions, 1);
    assert.equal(state.setUnread({ room: 'dev', count: 3 }).mentions, 0, 'a transport without mentions');
  });
});

describe('pending entries', () => {
  const queued = (fields = {}) => ({ clientId: 'c1', room: 'general', text: 'hi', createdAt: 1, state: 'queued', error: '', ...fields });

  test('our own message from the stream replaces its entry', () => {
    const state = signedIn();
    state.addPending(queued());
    const added = state.addMessage(msg('general', { nick: 'ana', client_id: 'c1' }));
    assert.equal(added.pending.clientId, 'c1');
    assert.deepEqual(state.pending, []);
  });

  test('a reply keeps its replyTo and shows the loaded original', () => {
    const state = signedIn();
    const original = msg('general', { nick: 'bo' });
    state.addMessage(original, { stream: true });
    const entry = state.addPending(queued({ replyTo: original.id }));
    assert.equal(entry.replyTo, original.id);
    assert.equal(state.withStatusText(entry, 0).reply.id, original.id);
    assert.equal(state.withStatusText(state.addPending(queued({ clientId: 'c9', replyTo: 7 })), 0).reply, null);
  });

  test('someone else\'s message with the same client id does not', () => {
    const state = signedIn();
    state.addPending(queued());
    assert.equal(state.addMessage(msg('general', { nick: 'bo', client_id: 'c1' })).pending, null);
    assert.equal(state.pending.length, 1);
  });

  test('an entry already shown, or delivered, is not added again', () => {
    const state = signedIn();
    assert.ok(state.addPending(queued()));
    assert.equal(state.addPending(queued()), null);
    state.addMessage(msg('general', { nick: 'ana', client_id: 'c2' }));
    assert.equal(state.addPending(queued({ clientId: 'c2' })), null);
  });

  test('a sent update for a message the stream showed removes the entry', () => {
    const state = signedIn();
    state.addPending(queued());
    const m = msg('general', { nick: 'ana' }); // no client id: not matched on arrival
    state.addMessage(m);
    assert.deepEqual(state.applyOutbox({ clientId: 'c1', state: 'sent', messageId: m.id }).removed, true);
    assert.deepEqual(state.pending, []);
  });

  test('updates carry the wait and the error; unknown entries are ignored', () => {
    const state = signedIn();
    state.addPending(queued());
    state.applyOutbox({ clientId: 'c1', state: 'queued', waitReason: 'slow', retryAt: 5000 });
    assert.deepEqual(state.noticeLines(1000), ['Slow down: retrying in 4 s']);
    state.applyOutbox({ clientId: 'c1', state: 'failed' });
    assert.equal(state.pending[0].error, 'the server refused it');
    assert.deepEqual(state.noticeLines(1000), []);
    assert.equal(state.applyOutbox({ clientId: 'nope', state: 'sent' }), null);
  });

  test('status texts', () => {
    const up = { streamUp: true, now: 1000 };
    const down = { streamUp: false, now: 1000 };
    assert.equal(statusText({ state: 'failed', error: 'too long' }, up), 'Not sent: too long');
    assert.equal(statusText({ state: 'sending' }, down), 'Sending…');
    assert.equal(statusText({ state: 'sent' }, up), 'Sending…');
    assert.equal(statusText({ state: 'queued', waitReason: 'slow', retryAt: 2000 }, up), 'Waiting: sending too fast…');
    assert.equal(statusText({ state: 'queued', waitReason: 'slow', retryAt: 500 }, up), 'Pending…');
    assert.equal(statusText({ state: 'queued', waitReason: 'network', retryAt: 2000 }, down),
      'Pending: will be sent when the connection is back');
    assert.equal(statusText({ state: 'queued' }, up), 'Pending…');
  });
});

describe('the connection indicator', () => {
  test('follows the stream', () => {
    const state = new ChatState(PAGE);
    assert.deepEqual(state.connectionView(0), ['offline', 'Signed out']);
    state.me = 'ana';
    assert.deepEqual(state.connectionView(0, false), ['offline', 'Offline: no network']);
    assert.deepEqual(state.connectionView(0), ['reconnecting', 'Connecting…']);
    state.streamOpen();
    assert.deepEqual(state.connectionView(0), ['connected', 'Connected']);
    state.streamDown({ retryInMs: 10_000, message: 'lost' }, 1_000);
    assert.deepEqual(state.connectionView(2_000), ['reconnecting', 'Reconnecting…']);
    assert.deepEqual(state.connectionView(5_000), ['offline', 'Offline: retrying in 6 s']);
    state.streamConnecting();
    assert.deepEqual(state.connectionView(5_000), ['offline', 'Offline: reconnecting…']);
    state.streamDown({ retryInMs: 2_000, message: 'lost again' }, 6_000);
    assert.equal(state.stream.downSince, 1_000, 'down since the first drop');
  });

  test('a final drop says why in the notice bar until dismissed', () => {
    const state = new ChatState(PAGE);
    state.me = 'ana';
    state.streamDown({ final: true, message: 'The server refused the stream.' }, 0);
    assert.deepEqual(state.connectionView(10_000), ['offline', 'Offline']);
    assert.deepEqual(state.noticeLines(0), ['The server refused the stream.']);
    state.dismissNotice();
    assert.deepEqual(state.noticeLines(0), []);
    state.streamConnecting();
    assert.equal(state.stream.retryAt, 0, 'trying again');
  });
});

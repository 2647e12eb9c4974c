// The room log (protocol v1.1) applied to a room's messages
// (ui/room-log.js) and through the chat state (ui/chat-state.js): edits,
// deletions, reactions, entries for messages not loaded, replay versus
// resume, and what a deleted message does to dedupe and pending entries.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ChatState } from '../../ui/chat-state.js';
import { KEEP_DELETED, Room, cleanReactions } from '../../ui/room-log.js';

const PAGE = 50;
let seq = 0;
const msg = (fields = {}) => ({ id: `m${++seq}`, room: 'general', nick: 'bo', text: `t${seq}`, ts: '2026-12-06T01:00:00Z', client_id: null, ...fields });

function roomWith(n) {
  const room = new Room('general');
  const sent = Array.from({ length: n }, () => msg());
  for (const m of sent) room.add(m);
  return { room, sent };
}

const ids = (room) => room.messages.map((m) => m.id);

function signedIn(current = 'general') {
  const state = new ChatState(PAGE);
  state.me = 'ana';
  state.current = current;
  return state;
}

/** A connection: opens, replays `messages` of general, then its `ready`. */
function connect(state, messages, resumed) {
  state.streamOpen();
  for (const m of messages) state.addMessage(m, { stream: true });
  return state.ready({ room: 'general', resumed, last_id: messages.at(-1)?.id ?? null });
}

describe('edit', () => {
  test('replaces the text, sets edited_ts and mentions, keeps position and the rest', () => {
    const { room, sent } = roomWith(3);
    const target = { ...sent[1], reply_to: { id: sent[0].id, nick: 'bo', text: 'x' }, reactions: { '👍': ['cy'] } };
    room.messages[1] = target;
    const changed = room.applyEdit({ ...sent[1], text: 'fixed', edited_ts: '2026-12-06T01:05:00Z', mentions: ['ana'], reactions: {} });
    assert.equal(changed.text, 'fixed');
    assert.equal(changed.edited_ts, '2026-12-06T01:05:00Z');
    assert.deepEqual(changed.mentions, ['ana']);
    assert.deepEqual(changed.reactions, { '👍': ['cy'] }, 'reactions change through their own entries');
    assert.deepEqual(changed.reply_to, target.reply_to);
    assert.equal(changed.ts, target.ts);
    assert.deepEqual(ids(room), sent.map((m) => m.id));
    assert.equal(room.messages[1], changed);
    assert.notEqual(changed, target, 'a new object: the old one is not changed in place');
    assert.equal(target.text, sent[1].text);
  });

  test('the same edit twice changes nothing the second time', () => {
    const { room, sent } = roomWith(1);
    const edit = { ...sent[0], text: 'again', edited_ts: '2026-12-06T01:05:00Z' };
    assert.ok(room.applyEdit(edit));
    assert.equal(room.applyEdit(edit), null);
  });

  test('a message not loaded, or a malformed edit, changes nothing', () => {
    const { room, sent } = roomWith(2);
    assert.equal(room.applyEdit({ ...msg(), text: 'x' }), null);
    assert.equal(room.applyEdit({ id: sent[0].id }), null);
    assert.equal(room.applyEdit(null), null);
    assert.deepEqual(room.messages, sent);
  });
});

describe('delete', () => {
  test('removes the message and keeps the others in order', () => {
    const { room, sent } = roomWith(3);
    assert.equal(room.applyDelete(sent[1].id), sent[1]);
    assert.deepEqual(ids(room), [sent[0].id, sent[2].id]);
    assert.equal(room.ids.has(sent[1].id), false);
    assert.equal(room.applyDelete(sent[1].id), null, 'twice: nothing more');
  });

  test('a deleted message does not come back: stream, history page, post answer', () => {
    const { room, sent } = roomWith(3);
    room.applyDelete(sent[1].id);
    assert.equal(room.add({ ...sent[1] }), false);
    assert.deepEqual(room.prepend([{ ...sent[1] }]), []);
    assert.deepEqual(ids(room), [sent[0].id, sent[2].id]);
  });

  test('one not loaded is remembered too (a stale history page cannot bring it)', () => {
    const { room } = roomWith(1);
    const elsewhere = msg();
    assert.equal(room.applyDelete(elsewhere.id), null);
    assert.deepEqual(room.prepend([elsewhere]), []);
  });

  test('the remembered ids are bounded, oldest forgotten first', () => {
    const room = new Room('general');
    for (let i = 0; i <= KEEP_DELETED; i++) room.applyDelete(`gone-${i}`);
    assert.equal(room.deleted.size, KEEP_DELETED);
    assert.equal(room.deleted.has('gone-0'), false);
    assert.equal(room.deleted.has(`gone-${KEEP_DELETED}`), true);
  });

  test('the "new since" mark moves to the next message', () => {
    const { room, sent } = roomWith(3);
    room.newSince = sent[1].id;
    room.applyDelete(sent[1].id);
    assert.equal(room.newSince, sent[2].id);
    room.applyDelete(sent[2].id);
    assert.equal(room.newSince, null);
  });

  test('replies to it are found, to show the quote as deleted', () => {
    const { room, sent } = roomWith(1);
    const reply = msg({ reply_to: { id: sent[0].id, nick: 'bo', text: sent[0].text } });
    room.add(reply);
    const result = room.applyEntry('delete', { room: 'general', id: sent[0].id });
    assert.equal(result.removed, sent[0]);
    assert.deepEqual(result.replies, [reply]);
  });
});

describe('reaction', () => {
  const react = (id, emoji, nick, added) => ({ room: 'general', id, emoji, nick, added });

  test('adds nicks in order, idempotently', () => {
    const { room, sent } = roomWith(1);
    const id = sent[0].id;
    assert.deepEqual(room.applyReaction(react(id, '👍', 'ana', true)).reactions, { '👍': ['ana'] });
    assert.equal(room.applyReaction(react(id, '👍', 'ana', true)), null, 'adding twice changes nothing');
    assert.deepEqual(room.applyReaction(react(id, '👍', 'bo', true)).reactions, { '👍': ['ana', 'bo'] });
    assert.deepEqual(room.applyReaction(react(id, '🎉', 'ana', true)).reactions, { '👍': ['ana', 'bo'], '🎉': ['ana'] });
  });

  test('removes nicks; an emoji nobody is left under goes; removing an absent one changes nothing', () => {
    const { room, sent } = roomWith(1);
    const id = sent[0].id;
    room.messages[0] = { ...sent[0], reactions: { '👍': ['ana', 'bo'], '🎉': ['bo'] } };
    assert.deepEqual(room.applyReaction(react(id, '👍', 'ana', false)).reactions, { '👍': ['bo'], '🎉': ['bo'] });
    assert.deepEqual(room.applyReaction(react(id, '🎉', 'bo', false)).reactions, { '👍': ['bo'] });
    assert.equal(room.applyReaction(react(id, '🎉', 'bo', false)), null);
    assert.equal(room.applyReaction(react(id, '❤️', 'cy', false)), null);
    assert.deepEqual(room.applyReaction(react(id, '👍', 'bo', false)).reactions, {});
  });

  test('for a message not loaded, or malformed, changes nothing', () => {
    const { room, sent } = roomWith(1);
    const id = sent[0].id;
    assert.equal(room.applyReaction(react('elsewhere', '👍', 'ana', true)), null);
    assert.equal(room.applyReaction(react(id, '', 'ana', true)), null);
    assert.equal(room.applyReaction(react(id, '👍', '', true)), null);
    assert.equal(room.applyReaction({ ...react(id, '👍', 'ana', true), added: 'yes' }), null);
    assert.equal(room.messages[0], sent[0]);
  });

  test('a message\'s reactions as the server sends them are cleaned', () => {
    assert.deepEqual(cleanReactions({ '👍': ['ana', 'ana', 3, ''], '🎉': [], x: 'bo' }), { '👍': ['ana'] });
    assert.deepEqual(cleanReactions(null), {});
    assert.deepEqual(cleanReactions(['👍']), {});
  });
});

describe('through the chat state', () => {
  test('entries of rooms with invalid names, or unknown kinds, are ignored', () => {
    const state = signedIn();
    const m = msg();
    state.addMessage(m);
    assert.equal(state.applyEntry('delete', { room: 'Not A Room', id: m.id }), null);
    assert.equal(state.applyEntry('pin', { room: 'general', id: m.id }), null);
    assert.equal(state.applyEntry('delete', { room: 'general' }), null);
    assert.equal(state.rooms.get('general').messages.length, 1);
  });

  test('a delete of our sent message drops its pending entry; a late post answer does not bring it back', () => {
    const state = signedIn();
    state.addPending({ clientId: 'c1', room: 'general', text: 'hi', createdAt: 0, state: 'queued' });
    state.applyOutbox({ clientId: 'c1', state: 'sent', messageId: 'm-hi' });
    const result = state.applyEntry('delete', { room: 'general', id: 'm-hi' });
    assert.equal(result.pending.clientId, 'c1');
    assert.equal(state.pending.length, 0);
    const late = state.addMessage({ id: 'm-hi', room: 'general', nick: 'ana', text: 'hi', ts: '', client_id: 'c1' });
    assert.equal(late.fresh, false);
    assert.equal(state.rooms.get('general').messages.length, 0);
  });

  test('a sent update for a message deleted already removes the entry', () => {
    const state = signedIn();
    state.addPending({ clientId: 'c2', room: 'general', text: 'hi', createdAt: 0, state: 'sending' });
    state.applyEntry('delete', { room: 'general', id: 'm-2' });
    assert.equal(state.applyOutbox({ clientId: 'c2', state: 'sent', messageId: 'm-2' }).removed, true);
  });

  test('resume: entries after the cursor, applied in order, give the state of a client that never left', () => {
    const a = msg();
    const b = msg();
    const c = msg();
    // One client stays connected the whole time.
    const stayed = signedIn();
    connect(stayed, [a, b], false);
    // Another drops after b, and resumes: c, the edit, the reaction and the delete come after its cursor.
    const back = signedIn();
    connect(back, [a, b], false);
    const log = [
      ['message', c],
      ['edit', { ...a, text: 'a2', edited_ts: '2026-12-06T01:10:00Z' }],
      ['reaction', { room: 'general', id: c.id, emoji: '👍', nick: 'cy', added: true }],
      ['delete', { room: 'general', id: b.id }],
    ];
    const apply = (state, entries) => {
      for (const [event, data] of entries) {
        if (event === 'message') state.addMessage(data, { stream: true });
        else state.applyEntry(event, data);
      }
    };
    apply(stayed, log);
    back.streamOpen();
    apply(back, log);
    back.ready({ room: 'general', resumed: true, last_id: 'x' });
    assert.deepEqual(back.rooms.get('general').messages, stayed.rooms.get('general').messages);
    assert.deepEqual(ids(back.rooms.get('general')), [a.id, c.id]);
  });

  test('a resume that repeats a message deleted meanwhile does not show it again', () => {
    const state = signedIn();
    const a = msg();
    const b = msg();
    connect(state, [a, b], false);
    state.applyEntry('delete', { room: 'general', id: b.id });
    state.streamOpen();
    const added = state.addMessage({ ...b }, { stream: true });
    assert.equal(added.fresh, false);
    assert.equal(added.updated, null);
    state.applyEntry('delete', { room: 'general', id: b.id });
    assert.deepEqual(ids(state.rooms.get('general')), [a.id]);
  });

  test('a fresh replay carries the current state: known messages take it', () => {
    const state = signedIn();
    const a = msg();
    const b = msg();
    connect(state, [a, b], false);
    state.streamOpen();
    const now = { ...a, text: 'a2', edited_ts: '2026-12-06T01:10:00Z', reactions: { '🎉': ['bo'] } };
    const added = state.addMessage(now, { stream: true });
    assert.equal(added.fresh, false);
    assert.equal(added.updated, now);
    assert.equal(state.addMessage({ ...b }, { stream: true }).updated, null, 'unchanged: nothing to redraw');
    state.ready({ room: 'general', resumed: false, last_id: b.id });
    assert.deepEqual(state.rooms.get('general').messages, [now, b]);
  });

  test('after the replay, a known message (a history page, a post answer) does not overwrite the kept one', () => {
    const state = signedIn();
    const a = msg();
    connect(state, [a], false);
    state.applyEntry('edit', { ...a, text: 'newer', edited_ts: '2026-12-06T01:10:00Z' });
    const stale = state.addMessage({ ...a }, { stream: true });
    assert.equal(stale.updated, null);
    assert.equal(state.addMessage({ ...a }).updated, null);
    assert.equal(state.rooms.get('general').messages[0].text, 'newer');
  });

  test('a fresh replay that skips kept messages: they were deleted meanwhile and go', () => {
    const state = signedIn();
    const [a, b, c, d] = [msg(), msg(), msg(), msg()];
    connect(state, [a, b, c, d], false);
    const e = msg();
    const { removed } = connect(state, [b, d, e], false); // c deleted while away; a is older than the replay
    assert.deepEqual(removed.map((m) => m.id), [c.id]);
    assert.deepEqual(ids(state.rooms.get('general')), [a.id, b.id, d.id, e.id]);
  });

  test('a resumed replay, or one that shares nothing with what is kept, removes nothing', () => {
    const state = signedIn();
    const [a, b] = [msg(), msg()];
    connect(state, [a, b], false);
    assert.deepEqual(connect(state, [msg()], true).removed, []);
    assert.deepEqual(connect(state, [msg(), msg()], false).removed, [], 'more was missed than a page: nothing to compare');
    assert.equal(state.rooms.get('general').messages.length, 5);
  });

  test('a message added while the replay runs (a post answer) is not taken for deleted', () => {
    const state = signedIn();
    const [a, b] = [msg(), msg()];
    connect(state, [a, b], false);
    state.streamOpen();
    state.addMessage(a, { stream: true });
    const mine = msg({ nick: 'ana' });
    state.addMessage(mine); // not from the stream, newer than anything kept at the start
    const { removed } = state.ready({ room: 'general', resumed: false, last_id: a.id });
    assert.deepEqual(removed.map((m) => m.id), [b.id]);
    assert.deepEqual(ids(state.rooms.get('general')), [a.id, mine.id]);
  });
});

// Who is typing (ui/typing-rules.js, and its use in ui/chat-state.js):
// expiry, a message or a leave ends it, the reader's own nick never
// shows, the line's text; and the send-side throttle.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ChatState } from '../../ui/chat-state.js';
import {
  TYPING_PING_MS, TYPING_SHOW_MS, TypingPinger, TypingTracker, typingText,
} from '../../ui/typing-rules.js';

const T0 = 1_000_000;
const typing = (nick, room = 'general') => ({ room, nick });

describe('typing tracker', () => {
  test('a nick shows for about 5 s after its last event', () => {
    const t = new TypingTracker();
    assert.equal(t.typed(typing('bo'), T0, 'ana'), true);
    assert.deepEqual(t.who('general', T0 + TYPING_SHOW_MS - 1), ['bo']);
    assert.deepEqual(t.who('general', T0 + TYPING_SHOW_MS), []);
    assert.equal(TYPING_SHOW_MS, 5000);
  });

  test('another event extends it; the line changes only for a new typist', () => {
    const t = new TypingTracker();
    t.typed(typing('bo'), T0, 'ana');
    assert.equal(t.typed(typing('bo'), T0 + 3000, 'ana'), false);
    assert.deepEqual(t.who('general', T0 + 7000), ['bo']);
    assert.equal(t.typed(typing('bo'), T0 + 9000, 'ana'), true, 'expired, then back');
  });

  test('the reader\'s own nick never shows; malformed events are ignored', () => {
    const t = new TypingTracker();
    assert.equal(t.typed(typing('ana'), T0, 'ana'), false);
    assert.equal(t.typed({ room: 'general' }, T0, 'ana'), false);
    assert.equal(t.typed({ room: 'general', nick: '' }, T0, 'ana'), false);
    assert.equal(t.typed(null, T0, 'ana'), false);
    assert.deepEqual(t.who('general', T0), []);
  });

  test('rooms are apart; stopping ends it at once', () => {
    const t = new TypingTracker();
    t.typed(typing('bo', 'general'), T0, 'ana');
    t.typed(typing('cy', 'dev'), T0, 'ana');
    assert.deepEqual(t.who('general', T0), ['bo']);
    assert.equal(t.stopped('general', 'bo'), true);
    assert.equal(t.stopped('general', 'bo'), false);
    assert.deepEqual(t.who('general', T0), []);
    assert.deepEqual(t.who('dev', T0), ['cy']);
  });

  test('the line\'s text', () => {
    assert.equal(typingText([]), '');
    assert.equal(typingText(['ana']), 'ana is typing…');
    assert.equal(typingText(['ana', 'bo']), 'ana and bo are typing…');
    assert.equal(typingText(['ana', 'bo', 'cy']), 'several people are typing…');
    const t = new TypingTracker();
    t.typed(typing('bo'), T0, 'ana');
    t.typed(typing('cy'), T0 + 1, 'ana');
    assert.equal(t.text('general', T0 + 2), 'bo and cy are typing…', 'in the order they started');
  });
});

describe('typing in the chat state', () => {
  function state() {
    const s = new ChatState(50);
    s.me = 'ana';
    s.current = 'general';
    return s;
  }

  test('an event shows on the room\'s line; its author\'s message clears it', () => {
    const s = state();
    assert.equal(s.typed(typing('bo'), T0).name, 'general');
    assert.equal(s.typingText(T0), 'bo is typing…');
    s.addMessage({ id: 'm1', room: 'general', nick: 'bo', text: 'hi', ts: '' }, { stream: true });
    assert.equal(s.typingText(T0), '');
  });

  test('a message from someone else does not clear it; leaving does', () => {
    const s = state();
    s.typed(typing('bo'), T0);
    s.addMessage({ id: 'm1', room: 'general', nick: 'cy', text: 'hi', ts: '' }, { stream: true });
    assert.equal(s.typingText(T0), 'bo is typing…');
    s.presence('leave', { room: 'general', nick: 'bo' });
    assert.equal(s.typingText(T0), '');
  });

  test('only the room on screen has a line; own nick, bad rooms ignored; reset forgets', () => {
    const s = state();
    assert.equal(s.typed(typing('ana'), T0), null);
    assert.equal(s.typed(typing('bo', 'Bad Room'), T0), null);
    s.typed(typing('bo', 'dev'), T0);
    assert.equal(s.typingText(T0), '');
    s.current = 'dev';
    assert.equal(s.typingText(T0), 'bo is typing…');
    s.reset();
    s.current = 'dev';
    assert.equal(s.typingText(T0), '');
  });
});

describe('typing pinger (send side)', () => {
  test('at most one ping per 2.5 s while typing', () => {
    const p = new TypingPinger();
    assert.equal(TYPING_PING_MS, 2500);
    assert.equal(p.input('h', T0), true);
    assert.equal(p.input('he', T0 + 100), false);
    assert.equal(p.input('hel', T0 + 2499), false);
    assert.equal(p.input('hell', T0 + 2500), true);
    assert.equal(p.input('hello', T0 + 3000), false);
  });

  test('no ping for an empty or blank box', () => {
    const p = new TypingPinger();
    assert.equal(p.input('', T0), false);
    assert.equal(p.input('   \n', T0), false);
    assert.equal(p.input('x', T0), true);
  });

  test('sending the message starts afresh; a clock set back does not silence it', () => {
    const p = new TypingPinger();
    p.input('a', T0);
    p.reset();
    assert.equal(p.input('b', T0 + 10), true);
    assert.equal(p.input('c', T0 - 60_000), true);
  });
});

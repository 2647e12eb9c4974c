// What one stored message shows (ui/message-model.js), without a DOM:
// the "(edited)" marker and its title, the reply quote, reaction chips and
// their labels, the mention highlight; and a v1 message shows as before.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { fullTime } from '../../ui/format.js';
import {
  byCodePoint, messageModel, quoteText, reactionLabel, reactionSummary,
} from '../../ui/message-model.js';

const base = { id: 'm1', room: 'general', nick: 'bo', text: 'hello', ts: '2026-12-06T01:00:00Z', client_id: null };

describe('a v1 message (no log fields)', () => {
  test('shows as before: no marker, no quote, no chips, no highlight', () => {
    const model = messageModel(base, { me: 'ana' });
    assert.deepEqual(model, {
      id: 'm1',
      nick: 'bo',
      text: 'hello',
      ts: Date.parse(base.ts),
      own: false,
      mentioned: false,
      edited: null,
      reply: null,
      reactions: [],
    });
    assert.equal(messageModel(base, { me: 'bo' }).own, true);
  });

  test('an invalid time stays NaN (the view shows no time)', () => {
    assert.ok(Number.isNaN(messageModel({ ...base, ts: 'nope' }).ts));
  });
});

describe('edited', () => {
  test('"(edited)" with the edit time in the title', () => {
    const at = '2026-12-06T01:05:00Z';
    const model = messageModel({ ...base, edited_ts: at }, { me: 'ana' });
    assert.deepEqual(model.edited, { title: `Edited ${fullTime(new Date(at))}` });
  });

  test('an unreadable edit time still marks it edited', () => {
    assert.deepEqual(messageModel({ ...base, edited_ts: 'soon' }).edited, { title: 'Edited' });
    assert.equal(messageModel({ ...base, edited_ts: null }).edited, null);
  });
});

describe('reply', () => {
  const reply = { ...base, reply_to: { id: 'm0', nick: 'cy', text: 'the\n  question' } };

  test('the quoted author and text, on one line', () => {
    assert.deepEqual(messageModel(reply, { me: 'ana' }).reply, {
      id: 'm0', nick: 'cy', text: 'the question', deleted: false, label: 'Reply to cy: the question',
    });
  });

  test('a quote of a message deleted this session hides its text', () => {
    const model = messageModel(reply, { me: 'ana', deleted: new Set(['m0']) });
    assert.equal(model.reply.deleted, true);
    assert.equal(model.reply.text, 'Deleted message');
  });

  test('a malformed reply_to shows no quote', () => {
    assert.equal(messageModel({ ...base, reply_to: 'm0' }).reply, null);
    assert.equal(messageModel({ ...base, reply_to: { nick: 'cy' } }).reply, null);
  });

  test('a quote is at most 200 characters', () => {
    const long = 'é'.repeat(250);
    assert.equal([...quoteText(long)].length, 201);
    assert.ok(quoteText(long).endsWith('…'));
    assert.equal(quoteText(undefined), '');
  });
});

describe('reactions', () => {
  test('chips {emoji, count, nicks, mine, label} in code point order', () => {
    const chips = reactionSummary({ '👍': ['bo', 'ana'], '❤️': ['cy'], '🎉': ['bo'] }, 'ana');
    assert.deepEqual(chips.map((c) => c.emoji), ['❤️', '🎉', '👍']);
    assert.deepEqual(chips[2], { emoji: '👍', count: 2, nicks: ['bo', 'ana'], mine: true, label: 'You and bo reacted with 👍' });
    assert.equal(chips[0].mine, false);
    assert.equal(chips[0].label, 'cy reacted with ❤️');
  });

  test('the order does not depend on the order the map came in', () => {
    const a = reactionSummary({ b: ['x'], '🎉': ['x'], a: ['x'], '✅': ['x'] }, 'x').map((c) => c.emoji);
    const b = reactionSummary({ '✅': ['x'], a: ['x'], '🎉': ['x'], b: ['x'] }, 'x').map((c) => c.emoji);
    assert.deepEqual(a, b);
    assert.deepEqual(a, ['a', 'b', '✅', '🎉']);
  });

  test('code point order, not UTF-16 order', () => {
    // U+FF01 (one unit, 0xFF01) sorts after U+1F600 (units 0xD83D…) in UTF-16, before it by code point.
    assert.ok(byCodePoint('\uFF01', '😀') < 0);
    assert.ok('\uFF01' > '😀');
    assert.equal(byCodePoint('ab', 'ab'), 0);
    assert.ok(byCodePoint('a', 'ab') < 0);
  });

  test('empty lists and bad values are dropped', () => {
    assert.deepEqual(reactionSummary({ '👍': [], '🎉': 'bo' }, 'ana'), []);
    assert.deepEqual(reactionSummary(undefined, 'ana'), []);
  });

  test('labels name up to three, then "and N others"', () => {
    assert.equal(reactionLabel('👍', ['ana'], 'ana'), 'You reacted with 👍');
    assert.equal(reactionLabel('👍', ['bo', 'cy', 'dee'], 'ana'), 'bo, cy and dee reacted with 👍');
    assert.equal(reactionLabel('👍', ['bo', 'cy', 'dee', 'eve'], 'ana'), 'bo, cy, dee and 1 other reacted with 👍');
    assert.equal(reactionLabel('👍', ['bo', 'ana', 'cy', 'dee', 'eve'], 'ana'), 'You, bo, cy and 2 others reacted with 👍');
  });

  test('the message model carries them', () => {
    const model = messageModel({ ...base, reactions: { '👍': ['ana'] } }, { me: 'ana' });
    assert.deepEqual(model.reactions.map((c) => [c.emoji, c.count, c.mine]), [['👍', 1, true]]);
  });
});

describe('mentions', () => {
  test('a message that mentions the reader or @here is highlighted; the reader\'s own is not', () => {
    assert.equal(messageModel({ ...base, mentions: ['Ana'] }, { me: 'ana' }).mentioned, true);
    assert.equal(messageModel({ ...base, mentions: ['@here'] }, { me: 'ana' }).mentioned, true);
    assert.equal(messageModel({ ...base, mentions: ['cy'] }, { me: 'ana' }).mentioned, false);
    assert.equal(messageModel({ ...base, nick: 'ana', mentions: ['@here'] }, { me: 'ana' }).mentioned, false);
  });
});

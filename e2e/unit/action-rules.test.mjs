// The room log's action rules (ui/action-rules.js).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { QUICK_EMOJI, canDelete, canEdit, customEmoji, lastOwn, logEnabled, replyTarget } from '../../ui/action-rules.js';

const msg = (id, nick, text = id) => ({ id, room: 'general', nick, text, ts: '' });

describe('action rules', () => {
  test('actions only with the log feature', () => {
    assert.equal(logEnabled({ features: ['log'] }), true);
    assert.equal(logEnabled({ features: [] }), false);
    assert.equal(logEnabled({}), false);
    assert.equal(logEnabled(null), false);
  });

  test('only the author edits; Up-arrow edits the newest own message', () => {
    assert.equal(canEdit(msg('a', 'ana'), 'ana'), true);
    assert.equal(canEdit(msg('a', 'bo'), 'ana'), false);
    assert.equal(canEdit(msg('a', 'ana'), null), false);
    const list = [msg('1', 'ana'), msg('2', 'ana'), msg('3', 'bo')];
    assert.equal(lastOwn(list, 'ana').id, '2');
    assert.equal(lastOwn(list, 'cy'), null);
    assert.equal(lastOwn([], 'ana'), null);
  });

  test('the author deletes their own message; an admin deletes anyone\'s', () => {
    assert.equal(canDelete(msg('a', 'ana'), 'ana'), true);
    assert.equal(canDelete(msg('a', 'bo'), 'ana'), false);
    assert.equal(canDelete(msg('a', 'bo'), 'ana', true), true);
    assert.equal(canDelete(msg('a', 'bo'), null, true), false);
    assert.equal(canDelete({ nick: 'bo' }, 'ana', true), false, 'a pending entry has no id');
  });

  test('a reply quotes the author and a one-line excerpt', () => {
    assert.deepEqual(replyTarget(msg('1', 'bo', 'line one\n\nline   two')), { id: '1', nick: 'bo', text: 'line one line two' });
    assert.equal(replyTarget(msg('1', 'bo', 'x'.repeat(300))).text.length, 201);
  });

  test('a typed emoji: 1 to 16 characters, no spaces or controls', () => {
    assert.equal(customEmoji(' 🦀 '), '🦀');
    assert.equal(customEmoji('👨‍👩‍👧'), '👨‍👩‍👧');
    assert.equal(customEmoji('+1'), '+1');
    assert.equal(customEmoji(''), '');
    assert.equal(customEmoji('a b'), '');
    assert.equal(customEmoji('x'.repeat(17)), '');
    assert.equal(customEmoji('\u0007'), '');
    assert.equal(QUICK_EMOJI.length, 8);
  });
});

// Mentions (ui/mention-rules.js): which messages mention the reader, and
// `@` completion: the partial nick at the caret, its candidates, the text
// once one is chosen.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  HERE, MAX_CANDIDATES, applyMention, knownNicks, mentionCandidates, mentionQuery, mentionsMe,
} from '../../ui/mention-rules.js';

const m = (mentions, nick = 'bo') => ({ id: 'x', nick, text: '', mentions });

describe('mentionsMe', () => {
  test('the reader\'s nick in `mentions`, ignoring case', () => {
    assert.equal(mentionsMe(m(['ana']), 'ana'), true);
    assert.equal(mentionsMe(m(['ANA']), 'Ana'), true);
    assert.equal(mentionsMe(m(['Élodie']), 'élodie'), true);
    assert.equal(mentionsMe(m(['anabel']), 'ana'), false);
  });

  test('@here mentions everyone', () => {
    assert.equal(mentionsMe(m([HERE]), 'ana'), true);
    assert.equal(HERE, '@here');
  });

  test('only the field counts: no field (a v1 server), an empty or bad one, mention nobody', () => {
    assert.equal(mentionsMe({ nick: 'bo', text: '@ana hi' }, 'ana'), false);
    assert.equal(mentionsMe(m([]), 'ana'), false);
    assert.equal(mentionsMe(m('ana'), 'ana'), false);
    assert.equal(mentionsMe(m([null, 3]), 'ana'), false);
    assert.equal(mentionsMe(null, 'ana'), false);
    assert.equal(mentionsMe(m(['ana']), null), false);
  });

  test('the reader\'s own messages never do', () => {
    assert.equal(mentionsMe(m(['ana', HERE], 'ana'), 'ana'), false);
  });
});

describe('knownNicks', () => {
  test('online first, then authors from the newest, each once ignoring case', () => {
    const messages = [{ nick: 'cy' }, { nick: 'Dee' }, { nick: 'bo' }, { nick: 'dee' }, {}];
    assert.deepEqual(knownNicks(new Set(['bo', 'ana']), messages), ['bo', 'ana', 'dee', 'cy']);
    assert.deepEqual(knownNicks(null, []), []);
  });
});

describe('mentionQuery', () => {
  test('the partial after an @ at the caret', () => {
    assert.deepEqual(mentionQuery('hi @an', 6), { start: 3, end: 6, partial: 'an' });
    assert.deepEqual(mentionQuery('@', 1), { start: 0, end: 1, partial: '' });
    assert.deepEqual(mentionQuery('(@bo', 4), { start: 1, end: 4, partial: 'bo' });
  });

  test('the word the caret is in ends where the whitespace starts', () => {
    assert.deepEqual(mentionQuery('@anabel, hi', 3), { start: 0, end: 8, partial: 'an' });
    assert.deepEqual(mentionQuery('@an\nnext', 3), { start: 0, end: 3, partial: 'an' });
  });

  test('no mention: no @, whitespace before the caret, an address, a caret out of range', () => {
    assert.equal(mentionQuery('hello', 5), null);
    assert.equal(mentionQuery('@ana is', 7), null);
    assert.equal(mentionQuery('mail ana@host', 13), null);
    assert.equal(mentionQuery('x_@bo', 5), null);
    assert.equal(mentionQuery('é@bo', 4), null);
    assert.equal(mentionQuery('@bo', 0), null);
    assert.equal(mentionQuery('@bo', 9), null);
    assert.equal(mentionQuery(null, 1), null);
  });

  test('an emoji (two UTF-16 units) before the @ is no letter', () => {
    assert.deepEqual(mentionQuery('🎉@bo', 5), { start: 2, end: 5, partial: 'bo' });
  });
});

describe('mentionCandidates', () => {
  const nicks = ['bo', 'Ana', 'anabel', 'ana-maria', 'cy', 'ANA'];

  test('prefix matches ignoring case, in the order given, not the reader, each once', () => {
    assert.deepEqual(mentionCandidates('an', nicks, 'cy'), ['Ana', 'anabel', 'ana-maria']);
    assert.deepEqual(mentionCandidates('AN', nicks, 'ana'), ['anabel', 'ana-maria']);
  });

  test('an exact match comes first', () => {
    assert.deepEqual(mentionCandidates('ana-maria', nicks, null), ['ana-maria']);
    assert.deepEqual(mentionCandidates('bo', ['bob', 'bo'], null), ['bo', 'bob']);
  });

  test('"here" when it matches, last; the empty partial offers everyone, capped', () => {
    assert.deepEqual(mentionCandidates('h', ['hal', 'bo'], null), ['hal', 'here']);
    const many = Array.from({ length: 20 }, (_, i) => `n${i}`);
    const all = mentionCandidates('', many, null);
    assert.equal(all.length, MAX_CANDIDATES);
    assert.equal(all[0], 'n0');
    assert.deepEqual(mentionCandidates('zz', nicks, null), []);
  });
});

describe('applyMention', () => {
  test('replaces the @word with the nick and a space, caret after it', () => {
    const text = 'hi @an';
    const q = mentionQuery(text, 6);
    assert.deepEqual(applyMention(text, q, 'anabel'), { text: 'hi @anabel ', caret: 11 });
  });

  test('keeps what follows; adds no second space', () => {
    const text = '@an how are you';
    const q = mentionQuery(text, 3);
    assert.deepEqual(applyMention(text, q, 'Ana'), { text: '@Ana how are you', caret: 5 });
    const mid = '@anXY, hi';
    assert.deepEqual(applyMention(mid, mentionQuery(mid, 3), 'ana'), { text: '@ana hi', caret: 5 });
  });

  test('a nick with a space is inserted whole', () => {
    const text = '@ma';
    assert.deepEqual(applyMention(text, mentionQuery(text, 3), 'ma rie'), { text: '@ma rie ', caret: 8 });
  });
});

// Search (ui/search-rules.js): what may be searched for, where the terms
// match in a text (folded as the server folds: NFD, marks stripped,
// lowercase; substrings, CJK included), the snippet of a long text, the
// pieces the view turns into text nodes, and the status sentences.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import {
  MAX_QUERY_CHARS, failureSentence, fold, highlightRanges, pieces, queryProblem, resultsSentence, snippet, terms,
} from '../../ui/search-rules.js';

const hits = (text, q) => highlightRanges(text, q).map(([a, b]) => text.slice(a, b));

describe('queryProblem', () => {
  test('empty or blank: a sentence asking for a word', () => {
    assert.equal(queryProblem(''), 'Type a word to search for.');
    assert.equal(queryProblem('   \t\n'), 'Type a word to search for.');
    assert.equal(queryProblem(undefined), 'Type a word to search for.');
  });

  test('up to 200 characters (code points, as the server counts) is fine; more says how many', () => {
    assert.equal(queryProblem('a'.repeat(MAX_QUERY_CHARS)), null);
    assert.equal(queryProblem('😀'.repeat(MAX_QUERY_CHARS)), null, 'an emoji is one character');
    assert.equal(queryProblem('a'.repeat(201)), 'A search can be at most 200 characters long (this one has 201).');
    assert.equal(queryProblem(`  ${'a'.repeat(200)}  `), null, 'surrounding blanks do not count');
  });
});

describe('terms and fold', () => {
  test('terms split on any whitespace', () => {
    assert.deepEqual(terms('  café \t crème\nbrûlée '), ['café', 'crème', 'brûlée']);
    assert.deepEqual(terms('天气　很好'), ['天气', '很好'], 'the ideographic space separates too');
  });

  test('fold: NFD, marks stripped, lowercase', () => {
    assert.equal(fold('Café'), 'cafe');
    assert.equal(fold('CAFE\u0301'), 'cafe');
    assert.equal(fold('Ångström'), 'angstrom');
    assert.equal(fold('İstanbul'), 'istanbul');
    assert.equal(fold('今天天气很好'), '今天天气很好');
  });
});

describe('highlightRanges', () => {
  test('case and diacritics are ignored both ways', () => {
    assert.deepEqual(hits('Café au lait', 'cafe'), ['Café']);
    assert.deepEqual(hits('cafe au lait', 'CAFÉ'), ['cafe']);
    assert.deepEqual(hits('Crème BRÛLÉE tonight', 'brulee'), ['BRÛLÉE']);
  });

  test('a decomposed accent in the text stays inside the highlight', () => {
    const text = 'cafe\u0301 ok';
    assert.deepEqual(highlightRanges(text, 'cafe'), [[0, 5]]);
  });

  test('substrings, every occurrence of every term, merged when they touch or overlap', () => {
    assert.deepEqual(hits('the deploy deployed', 'deploy'), ['deploy', 'deploy']);
    assert.deepEqual(highlightRanges('abcabc', 'bc ab'), [[0, 6]]);
    assert.deepEqual(hits('Release notes for release 2', 'release notes'), ['Release', 'notes', 'release']);
  });

  test('CJK substrings', () => {
    assert.deepEqual(highlightRanges('今天天气很好', '天气'), [[2, 4]]);
    assert.deepEqual(hits('今天天气很好，明天天气也好', '天气'), ['天气', '天气']);
    assert.deepEqual(hits('東京で会議', '会議 東京'), ['東京', '会議']);
  });

  test('offsets are UTF-16 offsets of the original text (astral characters before a match)', () => {
    const text = '😀😀 Émile';
    const [[a, b]] = highlightRanges(text, 'emile');
    assert.equal(text.slice(a, b), 'Émile');
  });

  test('no terms, no text, no match: no ranges', () => {
    assert.deepEqual(highlightRanges('anything', ''), []);
    assert.deepEqual(highlightRanges('', 'x'), []);
    assert.deepEqual(highlightRanges('anything', 'nothing'), []);
  });
});

describe('snippet and pieces', () => {
  test('a short text is shown whole', () => {
    const ranges = highlightRanges('hello world', 'world');
    assert.deepEqual(snippet('hello world', ranges), { text: 'hello world', ranges });
  });

  test('a long text shows the part around the first match, with its ranges shifted', () => {
    const text = `${'lorem ipsum '.repeat(50)}needle${' dolor sit'.repeat(50)}`;
    const shown = snippet(text, highlightRanges(text, 'needle'), 100);
    assert.ok(shown.text.startsWith('…') && shown.text.endsWith('…'));
    assert.ok(shown.text.length <= 102);
    assert.deepEqual(shown.ranges.map(([a, b]) => shown.text.slice(a, b)), ['needle']);
  });

  test('pieces cover the text in order, matched ones marked', () => {
    const text = 'Café au café';
    assert.deepEqual(pieces(text, highlightRanges(text, 'cafe')), [
      { text: 'Café', hit: true }, { text: ' au ', hit: false }, { text: 'café', hit: true },
    ]);
    assert.deepEqual(pieces('plain', []), [{ text: 'plain', hit: false }]);
    assert.equal(pieces(text, highlightRanges(text, 'au')).map((p) => p.text).join(''), text);
  });
});

describe('sentences', () => {
  test('results and their absence', () => {
    assert.equal(resultsSentence(' zebra ', 0, false), 'No messages match “zebra”.');
    assert.equal(resultsSentence('zebra', 0, false, 'general'), 'No messages in #general match “zebra”.');
    assert.equal(resultsSentence('zebra', 0, false, '@bo'), 'No messages in @bo match “zebra”.', 'a DM is named by the other nick');
    assert.equal(resultsSentence('zebra', 1, false), '1 message, newest first.');
    assert.equal(resultsSentence('zebra', 20, true, 'dev'), '20 messages in #dev so far, newest first.');
  });

  test('a failure is one readable sentence', () => {
    assert.equal(failureSentence(new Error('Cannot reach the server.')), 'The search failed: Cannot reach the server.');
    assert.equal(failureSentence(null), 'The search failed. Try again.');
  });
});

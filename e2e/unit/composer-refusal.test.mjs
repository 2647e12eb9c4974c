// Why the composer will not send what was typed (ui/composer-view.js's
// `refusal`): it says so instead of doing nothing.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { refusal } from '../../ui/composer-view.js';

test('an empty box asks nothing; text that can be sent has no refusal', () => {
  assert.equal(refusal('', 10), '');
  assert.equal(refusal('hello', 10), '');
  assert.equal(refusal('  indented code', 20), '', 'leading spaces are kept and fine');
  assert.equal(refusal('0123456789   ', 10), '', 'trailing spaces are not sent, so not counted');
});

test('only spaces and line breaks: nothing to send', () => {
  for (const value of [' ', '   ', '\n\n', ' \t \n ']) {
    assert.match(refusal(value, 10), /only spaces/, JSON.stringify(value));
  }
});

test('too long: by how much, counted in code points as the server does', () => {
  assert.equal(refusal('x'.repeat(12), 10), 'Too long to send: 12 characters, 2 over the limit of 10. Shorten it or split it.');
  assert.equal(refusal('😀'.repeat(10), 10), '', 'ten emoji are ten characters');
  assert.match(refusal('😀'.repeat(11), 10), /11 characters, 1 over/);
});

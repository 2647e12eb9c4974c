// The protected-nick sign-in rules (ui/nick-rules.js) and how a refused
// sign-in's `reason` reaches the UI (ui/web-http.js → TransportError).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { nickPasswordProblem, protectedNickSentence } from '../../ui/nick-rules.js';
import { errorFrom } from '../../ui/web-http.js';
import { TransportError } from '../../ui/transport-error.js';

test('a nick password has 8 to 128 characters, counted as characters', () => {
  assert.equal(nickPasswordProblem(''), 'Type a nick password.');
  assert.match(nickPasswordProblem('1234567'), /at least 8 characters/);
  assert.equal(nickPasswordProblem('12345678'), '');
  assert.equal(nickPasswordProblem('x'.repeat(128)), '');
  assert.match(nickPasswordProblem('x'.repeat(129)), /at most 128 characters/);
  // Eight emoji are eight characters, though sixteen UTF-16 units.
  assert.equal(nickPasswordProblem('🔥'.repeat(8)), '');
  assert.match(nickPasswordProblem('🔥'.repeat(7)), /at least 8/);
  assert.equal(nickPasswordProblem('🔥'.repeat(128)), '');
});

test('a protected nick is said so, and a wrong nick password differently', () => {
  assert.equal(protectedNickSentence('ana', false), 'ana is protected: enter its nick password, or pick another nick.');
  assert.equal(protectedNickSentence('ana', true), 'That nick password is wrong for ana: try again, or pick another nick.');
});

test("a refusal's reason is carried on the TransportError", async () => {
  const answer = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  const nick = await errorFrom(answer(401, { error: 'wrong nick password for ana', reason: 'nick_protected' }));
  assert.equal(nick.kind, 'unauthorized');
  assert.equal(nick.reason, 'nick_protected');
  assert.equal(nick.message, 'wrong nick password for ana');
  const server = await errorFrom(answer(401, { error: 'wrong password', reason: 'server_password' }));
  assert.equal(server.reason, 'server_password');
  const none = await errorFrom(answer(400, { error: 'nick too long' }));
  assert.equal(none.reason, null);
  assert.equal(new TransportError(500, 'x').reason, null);
});

// Moderation's texts (ui/ban-rules.js): ban lengths, the end time in local
// time, the reason out of the server's sentence, and what a banned or
// signed-out reader is told.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  BAN_CHOICES, banFromError, banListLine, banReason, bannedSentence, endedSentence, formatUntil,
} from '../../ui/ban-rules.js';
import { errorFrom } from '../../ui/web-http.js';

const UTC = { timeZone: 'UTC', locale: 'en-GB', now: Date.parse('2026-12-06T08:00:00Z') };
const UNTIL = '2026-12-06T08:15:00Z';

test('an admin bans for 15 minutes, 1 hour, 1 day or 1 week', () => {
  assert.deepEqual(BAN_CHOICES.map((c) => [c.minutes, c.label]),
    [[15, '15 minutes'], [60, '1 hour'], [1440, '1 day'], [10080, '1 week']]);
});

test('the end time is local: the time alone today, with the day otherwise', () => {
  assert.equal(formatUntil(UNTIL, UTC), '08:15');
  assert.equal(formatUntil(UNTIL, { ...UTC, timeZone: 'Europe/Paris' }), '09:15');
  assert.equal(formatUntil('2026-12-13T08:00:00Z', UTC), 'Sun 13 Dec, 08:00');
  assert.equal(formatUntil('not a time', UTC), 'not a time');
});

test("the ban's reason comes out of the server's sentence", () => {
  assert.equal(banReason(`you are banned until ${UNTIL}: spamming: links`, UNTIL), 'spamming: links');
  assert.equal(banReason(`you are banned until ${UNTIL}`, UNTIL), '');
  assert.equal(banReason(`you are banned until ${UNTIL}: rude`, null), 'rude');
  assert.equal(banReason('', UNTIL), '');
});

test('a banned reader is told why and until when, in local time', () => {
  const ended = { reason: 'banned', error: `you are banned until ${UNTIL}: spamming the room`, until: UNTIL };
  assert.equal(bannedSentence(ended, UTC), 'You are banned from this server until 08:15: spamming the room');
  assert.equal(endedSentence(ended, UTC), 'You are banned from this server until 08:15: spamming the room');
  assert.equal(bannedSentence({ reason: 'banned', error: `you are banned until ${UNTIL}`, until: UNTIL }, UTC),
    'You are banned from this server until 08:15.');
});

test('signed out elsewhere or superseded: a sentence to sign in again', () => {
  assert.match(endedSentence({ reason: 'signed_out' }), /signed out .*sign in again/);
  assert.match(endedSentence({ reason: 'superseded' }), /sign in again/);
  assert.equal(endedSentence({ reason: 'other' }), 'Your session ended; please sign in again.');
});

test('a 403 with reason "banned" becomes the data of an ended event, with its until', async () => {
  const body = { error: `you are banned until ${UNTIL}: spam`, reason: 'banned', until: UNTIL };
  const err = await errorFrom(new Response(JSON.stringify(body), { status: 403, headers: { 'Content-Type': 'application/json' } }));
  assert.equal(err.until, UNTIL);
  assert.deepEqual(banFromError(err), { reason: 'banned', error: body.error, until: UNTIL });
  const other = await errorFrom(new Response(JSON.stringify({ error: 'admins only' }), { status: 403 }));
  assert.equal(banFromError(other), null);
  assert.equal(banFromError(null), null);
});

test("an admin's ban list line", () => {
  assert.equal(banListLine({ nick: 'bo', until: UNTIL, by: 'boss', reason: 'spam' }, UTC), 'bo until 08:15 (by boss): spam');
  assert.equal(banListLine({ nick: 'bo', until: UNTIL, by: 'boss' }, UTC), 'bo until 08:15 (by boss)');
});

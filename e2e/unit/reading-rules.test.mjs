// Reading a long conversation (ui/reading-rules.js): day separators' texts
// and where the "New since you were away" line goes. Dates are built in
// the local time zone, as the rules read them.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { dayKey, dayLabel, firstUnreadId } from '../../ui/reading-rules.js';

const at = (y, m, d, h = 12, min = 0) => new Date(y, m - 1, d, h, min).getTime();

describe('day separators', () => {
  const now = at(2026, 12, 6, 9, 30);

  test('today and yesterday by calendar day, not by 24 hours', () => {
    assert.equal(dayLabel(at(2026, 12, 6, 0, 1), now, 'en-GB'), 'Today');
    assert.equal(dayLabel(at(2026, 12, 6, 23, 59), now, 'en-GB'), 'Today');
    assert.equal(dayLabel(at(2026, 12, 5, 23, 59), now, 'en-GB'), 'Yesterday');
    assert.equal(dayLabel(at(2026, 12, 5, 0, 0), now, 'en-GB'), 'Yesterday');
    assert.equal(dayLabel(at(2026, 12, 5, 10), at(2026, 12, 6, 0, 5), 'en-GB'), 'Yesterday', 'ten minutes past midnight');
  });

  test('older days show a short date; another year adds the year', () => {
    assert.equal(dayLabel(at(2026, 11, 30), now, 'en-GB'), 'Mon 30 Nov');
    assert.equal(dayLabel(at(2026, 12, 4), now, 'en-GB'), 'Fri 4 Dec');
    assert.match(dayLabel(at(2025, 12, 30), now, 'en-GB'), /^Tue,? 30 Dec 2025$/);
    assert.equal(dayLabel(at(2026, 1, 1), at(2026, 1, 2), 'en-GB'), 'Yesterday');
    assert.match(dayLabel(at(2025, 12, 31), at(2026, 1, 1), 'en-GB'), /Yesterday/, 'across a new year');
  });

  test('the locale decides the order', () => {
    assert.match(dayLabel(at(2026, 11, 30), now, 'en-US'), /^Mon, Nov 30$/);
    assert.match(dayLabel(at(2026, 11, 30), now, 'de-DE'), /30\. Nov/);
  });

  test('the day key is the local calendar day; invalid times have none', () => {
    assert.equal(dayKey(at(2026, 3, 9, 0, 0)), '2026-03-09');
    assert.equal(dayKey(at(2026, 3, 9, 23, 59)), '2026-03-09');
    assert.equal(dayKey(Number.NaN), '');
    assert.equal(dayLabel('not a time', now), '');
  });
});

describe('the "new since you were away" line', () => {
  const m = (id, nick = 'bo') => ({ id, nick });
  const messages = [m('1'), m('2'), m('3', 'ana'), m('4'), m('5', 'ana'), m('6')];

  test('nothing unread: no line', () => {
    assert.equal(firstUnreadId(messages, 0, 'ana'), null);
    assert.equal(firstUnreadId([], 3, 'ana'), null);
  });

  test('counts back the unread messages of others, skipping the reader\'s own', () => {
    assert.equal(firstUnreadId(messages, 1, 'ana'), '6');
    assert.equal(firstUnreadId(messages, 2, 'ana'), '4');
    assert.equal(firstUnreadId(messages, 3, 'ana'), '2');
  });

  test('more unread than loaded: the first loaded message', () => {
    assert.equal(firstUnreadId(messages, 40, 'ana'), '1');
  });
});

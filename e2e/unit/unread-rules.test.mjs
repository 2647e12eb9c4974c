// How the web transport counts unread messages (ui/unread-rules.js).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { UnreadCounter } from '../../ui/unread-rules.js';

let seq = 0;
const msg = (room, nick = 'bo') => ({ id: `id-${++seq}`, room, nick, text: 'x' });

/** A counter whose first listing had `rooms` (name -> last_id) and whose replays are done. */
function primed(rooms, active = null) {
  const counter = new UnreadCounter();
  counter.setActive(active);
  counter.listed(Object.entries(rooms).map(([room, lastId]) => ({ room, last_id: lastId })));
  for (const room of Object.keys(rooms)) counter.ready({ room });
  return counter;
}

describe('unread counts', () => {
  test('count messages of rooms not on screen', () => {
    const counter = primed({ dev: null, general: null }, 'general');
    assert.equal(counter.message(msg('dev'), 'ana'), 1);
    assert.equal(counter.message(msg('dev'), 'ana'), 2);
    assert.equal(counter.message(msg('general'), 'ana'), null, 'on screen');
    assert.equal(counter.count('general'), 0);
  });

  test('a counted message that mentions the reader counts as a mention too', () => {
    const counter = primed({ dev: null }, 'general');
    assert.equal(counter.message({ ...msg('dev'), mentions: ['Ana'] }, 'ana'), 1);
    assert.equal(counter.message({ ...msg('dev'), mentions: ['@here'] }, 'ana'), 2);
    assert.equal(counter.message({ ...msg('dev'), mentions: ['bo'] }, 'ana'), 3);
    assert.equal(counter.message({ ...msg('dev', 'ana'), mentions: ['ana'] }, 'ana'), null, 'mine');
    assert.equal(counter.mentions('dev'), 2);
    assert.deepEqual(counter.setActive('dev'), [{ room: 'dev', count: 0 }]);
    assert.equal(counter.mentions('dev'), 0);
  });

  test('never count the reader\'s own messages', () => {
    const counter = primed({ dev: null }, 'general');
    assert.equal(counter.message(msg('dev', 'ana'), 'ana'), null);
    assert.equal(counter.count('dev'), 0);
  });

  test('count a message once, by id', () => {
    const counter = primed({ dev: null }, 'general');
    const m = msg('dev');
    assert.equal(counter.message(m, 'ana'), 1);
    assert.equal(counter.message({ ...m }, 'ana'), null);
    assert.equal(counter.count('dev'), 1);
  });

  test('the room put on screen drops to 0 and stays there', () => {
    const counter = primed({ dev: null }, 'general');
    counter.message(msg('dev'), 'ana');
    assert.deepEqual(counter.setActive('dev'), [{ room: 'dev', count: 0 }]);
    assert.equal(counter.message(msg('dev'), 'ana'), null);
    assert.deepEqual(counter.setActive('general'), [], 'nothing changed');
    assert.equal(counter.message(msg('dev'), 'ana'), 1);
  });

  test('a fresh replay counts only what came after the first listing\'s last_id', () => {
    const counter = new UnreadCounter();
    counter.setActive('general');
    const old = [msg('dev'), msg('dev')];
    counter.listed([{ room: 'dev', last_id: old[1].id }]);
    for (const m of old) assert.equal(counter.message(m, 'ana'), null, 'there before the reader came');
    assert.equal(counter.message(msg('dev'), 'ana'), 1, 'after the baseline');
    counter.ready({ room: 'dev' });
    assert.equal(counter.message(msg('dev'), 'ana'), 2);
  });

  test('a room first listed later is new: all of its messages count', () => {
    const counter = new UnreadCounter();
    counter.setActive('general');
    counter.listed([{ room: 'general', last_id: null }]);
    counter.listed([{ room: 'general', last_id: null }, { room: 'fresh', last_id: 'x' }]);
    assert.equal(counter.message(msg('fresh'), 'ana'), 1);
  });

  test('a room never listed counts only once primed by its ready', () => {
    const counter = new UnreadCounter();
    counter.setActive('general');
    assert.equal(counter.message(msg('dev'), 'ana'), null);
    counter.ready({ room: 'dev' });
    assert.equal(counter.message(msg('dev'), 'ana'), 1);
  });

  test('reset forgets the session', () => {
    const counter = primed({ dev: null }, 'general');
    counter.message(msg('dev'), 'ana');
    counter.reset();
    assert.equal(counter.count('dev'), 0);
    assert.equal(counter.active, null);
    assert.equal(counter.listedOnce, false);
  });
});

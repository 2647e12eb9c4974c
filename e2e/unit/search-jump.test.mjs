// Opening a search result in place (ui/search-jump.js): what is loaded so
// that the room keeps one run of messages up to the newest: a few before
// the result, the result, and every message between it and the ones
// loaded, page by page; nothing when that is more than the room keeps.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Room } from '../../ui/room-log.js';
import { SearchJump } from '../../ui/search-jump.js';

const msg = (n) => ({ id: `m${n}`, room: 'general', nick: 'bo', text: `message ${n}`, ts: '2026-12-06T10:00:00Z' });

/** A transport over a room of `total` messages m0 … m{total-1}; it counts its calls. */
function fakeTransport(total) {
  const all = Array.from({ length: total }, (_, i) => msg(i));
  const at = (id) => all.findIndex((m) => m.id === id);
  const calls = [];
  return {
    calls,
    async history(room, beforeId, limit) {
      calls.push(['history', beforeId, limit]);
      const end = at(beforeId);
      return all.slice(Math.max(0, end - limit), end);
    },
    async historyAfter(room, afterId, limit) {
      calls.push(['after', afterId, limit]);
      const start = at(afterId) + 1;
      return all.slice(start, start + limit);
    },
  };
}

/** A room holding the newest `loaded` of `total` messages. */
function roomWithNewest(total, loaded) {
  const room = new Room('general');
  for (let i = total - loaded; i < total; i += 1) room.add(msg(i));
  return room;
}

const ids = (room) => room.messages.map((m) => Number(m.id.slice(1)));
const range = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);

describe('SearchJump.around', () => {
  test('loads 10 before, the result, and every page after it up to the loaded messages: one run, in order', async () => {
    const transport = fakeTransport(1000);
    const room = roomWithNewest(1000, 50);
    const jump = new SearchJump({ transport });
    assert.equal(await jump.around(room, msg(400)), true);
    assert.deepEqual(ids(room), range(390, 1000));
    assert.equal(room.hasOlder, true);
    assert.deepEqual(transport.calls.map((c) => c[0]), ['history', 'after', 'after', 'after']);
  });

  test('near the start of the room: fewer than 10 before means nothing older', async () => {
    const room = roomWithNewest(100, 50);
    assert.equal(await new SearchJump({ transport: fakeTransport(100) }).around(room, msg(3)), true);
    assert.deepEqual(ids(room), range(0, 100));
    assert.equal(room.hasOlder, false);
  });

  test('a room with nothing loaded yet is loaded up to the newest', async () => {
    const room = new Room('general');
    assert.equal(await new SearchJump({ transport: fakeTransport(120) }).around(room, msg(60)), true);
    assert.deepEqual(ids(room), range(50, 120));
  });

  test('more than the room keeps between the result and the loaded messages: nothing changes', async () => {
    const transport = fakeTransport(5000);
    const room = roomWithNewest(5000, 50);
    assert.equal(await new SearchJump({ transport }).around(room, msg(10)), false);
    assert.deepEqual(ids(room), range(4950, 5000));
    assert.ok(transport.calls.length <= 12, 'it stops asking once it is too far');
  });
});

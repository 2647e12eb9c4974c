// Leaving a room (ui/left-rooms.js, and how ui/chat-state.js uses it),
// without a browser: which rooms are followed and shown, where the reader
// goes when the room on screen is left, how the left set is stored.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ChatState } from '../../ui/chat-state.js';
import {
  followedRooms, parseLeft, roomAfterLeaving, serializeLeft, withLeft, withoutLeft,
} from '../../ui/left-rooms.js';

describe('followedRooms', () => {
  test('the listed rooms not left, plus the current one, sorted', () => {
    assert.deepEqual(followedRooms(['b', 'a', 'c'], new Set(['b']), 'a'), ['a', 'c']);
    assert.deepEqual(followedRooms(['a', 'c'], new Set(), 'z'), ['a', 'c', 'z']);
  });

  test('the room on screen is followed even if left', () => {
    assert.deepEqual(followedRooms(['a', 'b'], new Set(['a']), 'a'), ['a', 'b']);
  });

  test('no current room and everything left: nothing', () => {
    assert.deepEqual(followedRooms(['a'], new Set(['a']), null), []);
  });
});

describe('the left set', () => {
  test('withLeft and withoutLeft return new sets', () => {
    const left = new Set(['a']);
    const more = withLeft(left, 'b');
    assert.deepEqual([...more].sort(), ['a', 'b']);
    assert.deepEqual([...left], ['a']);
    const less = withoutLeft(more, 'a');
    assert.deepEqual([...less], ['b']);
    assert.deepEqual([...more].sort(), ['a', 'b']);
  });

  test('withoutLeft of a room not left is the same set (nothing to store)', () => {
    const left = new Set(['a']);
    assert.equal(withoutLeft(left, 'b'), left);
  });

  test('stored as a sorted JSON array; bad or invalid entries are dropped', () => {
    assert.equal(serializeLeft(new Set(['b', 'a'])), '["a","b"]');
    assert.deepEqual([...parseLeft('["a","b"]')], ['a', 'b']);
    assert.deepEqual([...parseLeft('')], []);
    assert.deepEqual([...parseLeft('not json')], []);
    assert.deepEqual([...parseLeft('{"a":1}')], []);
    assert.deepEqual([...parseLeft('["ok", 3, "Bad Name"]', (n) => /^[a-z]+$/.test(n))], ['ok']);
  });
});

describe('roomAfterLeaving', () => {
  test('the default room if it is still followed', () => {
    assert.equal(roomAfterLeaving(['a', 'dev', 'general'], 'dev', 'general'), 'general');
  });

  test('else the first other followed room', () => {
    assert.equal(roomAfterLeaving(['a', 'b', 'general'], 'general', 'general'), 'a');
    assert.equal(roomAfterLeaving(['b', 'dev'], 'dev', 'general'), 'b');
  });

  test('else the default room (opening it un-leaves it)', () => {
    assert.equal(roomAfterLeaving(['dev'], 'dev', 'general'), 'general');
  });

  test('nowhere: the default room is the only one', () => {
    assert.equal(roomAfterLeaving(['general'], 'general', 'general'), null);
  });
});

describe('ChatState with left rooms', () => {
  function state() {
    const s = new ChatState(50);
    s.me = 'ana';
    s.current = 'general';
    s.setListed([{ room: 'general', online: 1 }, { room: 'dev', online: 2 }, { room: 'ops', online: 0 }]);
    return s;
  }

  test('a left room is neither shown nor followed', () => {
    const s = state();
    s.left = new Set(['dev']);
    assert.deepEqual(s.shownRooms(), ['general', 'ops']);
    assert.deepEqual(s.takeFollowChange(), ['general', 'ops']);
  });

  test('leaving changes the follow set; the room on screen stays followed', () => {
    const s = state();
    assert.deepEqual(s.takeFollowChange(), ['dev', 'general', 'ops']);
    s.left = new Set(['ops', 'general']);
    assert.deepEqual(s.takeFollowChange(), ['dev', 'general']);
    s.current = 'dev';
    assert.deepEqual(s.takeFollowChange(), ['dev']);
  });

  test('a left room counts no unread, in the room and in the total', () => {
    const s = state();
    s.setUnread({ room: 'dev', count: 3, mentions: 1 });
    s.setUnread({ room: 'ops', count: 2, mentions: 0 });
    assert.equal(s.unreadTotal, 5);
    s.left = new Set(['dev']);
    assert.equal(s.unreadOf(s.ensureRoom('dev')), 0);
    assert.equal(s.unreadTotal, 2);
  });

  test('reset forgets the left set of the session', () => {
    const s = state();
    s.left = new Set(['dev']);
    s.reset();
    assert.deepEqual([...s.left], []);
  });
});

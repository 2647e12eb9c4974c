// The window title with the unread count (title-rules.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { titleUnread, windowTitle } from '../../ui/title-rules.js';

test('the title counts unread messages and names the room', () => {
  assert.equal(windowTitle({ unread: 3 }), '(3) Hearth');
  assert.equal(windowTitle({ unread: 3, room: 'general' }), '(3) #general — Hearth');
  assert.equal(windowTitle({ unread: 0, room: 'general' }), '#general — Hearth');
  assert.equal(windowTitle({ room: 'bo', dm: true }), '@bo — Hearth');
  assert.equal(windowTitle({}), 'Hearth');
});

test('the room on screen counts while the window is not focused', () => {
  assert.equal(titleUnread(2, 5, true), 2);
  assert.equal(titleUnread(2, 5, false), 7);
  assert.equal(titleUnread(0, undefined, false), 0);
  assert.equal(titleUnread(-1, -4, false), 0);
});

// The app's right-click menu (context-rules.js) and which links leave the app (link-rules.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { contextItems } from '../../ui/context-rules.js';
import { isWebLink } from '../../ui/link-rules.js';

const actions = (items) => items.map((i) => i.action);
const msg = { id: '01J0000000000000000000000A', nick: 'ana', text: 'hi' };

test('nothing applies: no menu at all (never the webview\'s own)', () => {
  assert.deepEqual(contextItems({}), []);
  assert.deepEqual(contextItems({ selection: '   ' }), []);
});

test('Copy with a selection, Copy link on a web link only', () => {
  assert.deepEqual(actions(contextItems({ selection: 'hello' })), ['copy']);
  assert.deepEqual(actions(contextItems({ href: 'https://example.org/docs' })), ['copy-link']);
  assert.deepEqual(actions(contextItems({ href: 'javascript:alert(1)' })), []);
  assert.deepEqual(actions(contextItems({ selection: 'x', href: 'http://h:1/' })), ['copy', 'copy-link']);
});

test('a stored message offers its actions, as its menu does', () => {
  assert.deepEqual(actions(contextItems({ message: msg, log: true })), ['reply', 'react']);
  assert.deepEqual(actions(contextItems({ message: msg, log: true, canEdit: true, canDelete: true })), ['reply', 'react', 'edit', 'delete']);
  // an admin on someone else's message
  assert.deepEqual(actions(contextItems({ message: msg, log: true, canDelete: true })), ['reply', 'react', 'delete']);
  // no room log, or a pending message (no id): none
  assert.deepEqual(actions(contextItems({ message: msg, log: false, canEdit: true })), []);
  assert.deepEqual(actions(contextItems({ message: { nick: 'ana' }, log: true })), []);
  assert.deepEqual(actions(contextItems({ selection: 'hi', href: 'https://x.org', message: msg, log: true })),
    ['copy', 'copy-link', 'reply', 'react']);
});

test('only http(s) links with a host leave the app', () => {
  for (const good of ['https://example.org/docs', 'http://192.168.1.20:8989/r/dev', 'HTTPS://X.ORG']) assert.ok(isWebLink(good), good);
  for (const bad of ['', 'file:///etc/passwd', 'javascript:alert(1)', 'hearth://join?url=x', 'ftp://x.org', '/relative', 'http://', null]) {
    assert.ok(!isWebLink(bad), String(bad));
  }
});

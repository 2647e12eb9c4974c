// The web outbox's storage (ui/outbox.js): a reply's `replyTo` is kept, and
// entries stored before replies existed (no `replyTo`) still load.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

const KEY = 'hearth.outbox.v1';

before(() => {
  const data = new Map();
  globalThis.window = {
    localStorage: {
      getItem: (k) => (data.has(k) ? data.get(k) : null),
      setItem: (k, v) => data.set(k, String(v)),
      removeItem: (k) => data.delete(k),
    },
  };
});

after(() => {
  delete globalThis.window;
});

describe('the outbox in localStorage', () => {
  test('keeps replyTo; old entries without it load; a bad replyTo is dropped', async () => {
    const { Outbox } = await import('../../ui/outbox.js');
    const old = { clientId: 'c-old', nick: 'ana', room: 'general', text: 'before replies', createdAt: 1 };
    const bad = { clientId: 'c-bad', nick: 'ana', room: 'general', text: 'x', createdAt: 2, replyTo: 7 };
    window.localStorage.setItem(KEY, JSON.stringify([old, bad]));
    const outbox = new Outbox();
    assert.deepEqual(outbox.list('ana'), [old]);
    outbox.add({ clientId: 'c-new', nick: 'ana', room: 'general', text: 'yes', createdAt: 3, replyTo: 'm1', state: 'queued' });
    outbox.add({ clientId: 'c-plain', nick: 'ana', room: 'general', text: 'no', createdAt: 4, replyTo: null });
    const stored = JSON.parse(window.localStorage.getItem(KEY));
    assert.deepEqual(stored.map((e) => e.replyTo), [undefined, 'm1', undefined]);
    assert.deepEqual(new Outbox().list('ana').map((e) => e.clientId), ['c-old', 'c-new', 'c-plain']);
  });
});

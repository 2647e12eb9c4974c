// The web transport's search and historyAfter (ui/transport-web.js) over a
// stubbed fetch: the query string they send, and a refusal as a
// TransportError carrying the server's sentence.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

const requests = [];

before(() => {
  globalThis.window = new EventTarget();
  globalThis.document = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  globalThis.fetch = async (url, init = {}) => {
    requests.push({ url, method: init.method || 'GET' });
    const query = new URL(url, 'http://hearth.test').searchParams;
    if (url.startsWith('/api/search')) {
      if ([...(query.get('q') || '')].length > 200) {
        return Response.json({ error: 'A search can be at most 200 characters.' }, { status: 400 });
      }
      return Response.json([{ id: 'b', room: 'general', nick: 'bo', text: 'café', ts: '2026-12-06T10:00:00Z' }]);
    }
    if (url.includes('/messages?') && query.has('after')) return Response.json([{ id: 'c' }, { id: 'd' }]);
    return Response.json({ error: 'no such endpoint' }, { status: 404 });
  };
});

after(() => {
  delete globalThis.window;
  delete globalThis.document;
  delete globalThis.fetch;
});

describe('search over the web transport', () => {
  test('search sends q, rooms, limit and before as the protocol spells them', async () => {
    const { createWebTransport } = await import('../../ui/transport-web.js');
    const transport = createWebTransport();
    requests.length = 0;
    const found = await transport.search('café 天气', { rooms: ['general', 'dev'], before: '17-0', limit: 20 });
    assert.deepEqual(found.map((m) => m.id), ['b']);
    const url = new URL(requests[0].url, 'http://hearth.test');
    assert.equal(url.pathname, '/api/search');
    assert.deepEqual(Object.fromEntries(url.searchParams), { q: 'café 天气', rooms: 'general,dev', limit: '20', before: '17-0' });

    await transport.search('x');
    assert.deepEqual([...new URL(requests[1].url, 'http://hearth.test').searchParams.keys()], ['q'], 'all rooms: no rooms');
  });

  test('a refused search rejects with the server\'s sentence, kind invalid', async () => {
    const { createWebTransport } = await import('../../ui/transport-web.js');
    const transport = createWebTransport();
    await assert.rejects(transport.search('a'.repeat(201)), (err) => {
      assert.equal(err.status, 400);
      assert.equal(err.kind, 'invalid');
      assert.equal(err.message, 'A search can be at most 200 characters.');
      return true;
    });
  });

  test('historyAfter asks for the messages after an id, oldest first', async () => {
    const { createWebTransport } = await import('../../ui/transport-web.js');
    const transport = createWebTransport();
    requests.length = 0;
    const page = await transport.historyAfter('general', '17-0', 200);
    assert.deepEqual(page.map((m) => m.id), ['c', 'd']);
    assert.equal(requests[0].url, '/api/rooms/general/messages?after=17-0&limit=200');
  });
});

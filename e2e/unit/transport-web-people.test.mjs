// The web transport's people methods (ui/transport-web.js) over a stubbed
// fetch: openDm, ban, unban and bans are one request each; the room list's
// `dm` makes DM messages count as mentions; a stream's `ended` event and a
// request refused 403 "banned" end the session once, without reconnecting.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

const UNTIL = '2026-12-06T08:15:00Z';
const requests = [];
let streamText = '';
let streamBanned = false; // the next stream is refused 403 "banned"
const encoder = new TextEncoder();

const sse = (event, data, id = '') => `event: ${event}\n${id ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`;

before(() => {
  globalThis.window = new EventTarget();
  globalThis.document = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  globalThis.fetch = async (url, init = {}) => {
    const method = init.method || 'GET';
    requests.push({ url, method, body: init.body ? JSON.parse(init.body) : null });
    if (url.startsWith('/api/events') && streamBanned) {
      return Response.json({ error: `you are banned until ${UNTIL}: spam`, reason: 'banned', until: UNTIL }, { status: 403 });
    }
    if (url.startsWith('/api/events')) {
      const text = streamText;
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(encoder.encode(text));
          init.signal.addEventListener('abort', () => controller.error(new Error('aborted')));
        },
      });
      return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    }
    if (url === '/api/session' && method === 'POST') {
      return Response.json({ nick: 'ana', expires_at: 0, protected: true, admin: true }, { status: 201 });
    }
    if (url === '/api/rooms') {
      return Response.json([{ room: 'dm-ab12', online: 1, last_id: null, dm: 'bo' }, { room: 'general', online: 1, last_id: null }]);
    }
    if (url === '/api/dm') {
      const { nick } = JSON.parse(init.body);
      if (nick === 'cy') {
        return Response.json({ error: "cy has not protected their nick, so you can't message them privately yet", reason: 'not_protected' }, { status: 409 });
      }
      return Response.json({ room: 'dm-ab12', nick });
    }
    if (url === '/api/bans' && method === 'POST') {
      const { nick, reason } = JSON.parse(init.body);
      return Response.json({ nick, until: UNTIL, by: 'ana', reason }, { status: 201 });
    }
    if (url === '/api/bans') return Response.json([{ nick: 'cy', until: UNTIL, by: 'ana' }]);
    if (url.startsWith('/api/bans/')) return new Response(null, { status: 204 });
    if (url === '/api/rooms/general/typing') {
      return Response.json({ error: `you are banned until ${UNTIL}: spam`, reason: 'banned', until: UNTIL }, { status: 403 });
    }
    return Response.json({ error: 'no such endpoint' }, { status: 404 });
  };
});

after(() => {
  delete globalThis.window;
  delete globalThis.document;
  delete globalThis.fetch;
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 30));

describe('the web transport, people', () => {
  test('signIn passes protected and admin; openDm, ban, unban, bans are one request each', async () => {
    const { createWebTransport } = await import('../../ui/transport-web.js');
    const transport = createWebTransport();
    const session = await transport.signIn('ana', '');
    assert.equal(session.protected, true);
    assert.equal(session.admin, true);
    requests.length = 0;
    assert.deepEqual(await transport.openDm('bo'), { room: 'dm-ab12', nick: 'bo' });
    await assert.rejects(transport.openDm('cy'), (err) => err.kind === 'conflict' && err.reason === 'not_protected'
      && err.message.startsWith('cy has not protected'));
    assert.deepEqual(await transport.ban('cy', 15, 'spam'), { nick: 'cy', until: UNTIL, by: 'ana', reason: 'spam' });
    await transport.ban('dee', 60);
    assert.equal(await transport.unban('c y'), undefined);
    assert.deepEqual(await transport.bans(), [{ nick: 'cy', until: UNTIL, by: 'ana' }]);
    assert.deepEqual(requests.map((r) => [r.method, r.url, r.body]), [
      ['POST', '/api/dm', { nick: 'bo' }],
      ['POST', '/api/dm', { nick: 'cy' }],
      ['POST', '/api/bans', { nick: 'cy', minutes: 15, reason: 'spam' }],
      ['POST', '/api/bans', { nick: 'dee', minutes: 60 }],
      ['DELETE', '/api/bans/c%20y', null],
      ['GET', '/api/bans', null],
    ]);
    transport.close();
  });

  test("a DM's messages from the other person count as mentions", async () => {
    const { createWebTransport } = await import('../../ui/transport-web.js');
    const transport = createWebTransport();
    await transport.signIn('ana', '');
    const rooms = await transport.rooms();
    assert.equal(rooms[0].dm, 'bo');
    transport.setActive('general');
    const events = [];
    streamText = sse('ready', { room: 'dm-ab12', resumed: false, last_id: null })
      + sse('message', { id: 'd1', room: 'dm-ab12', nick: 'bo', text: 'psst', ts: 0 }, 'c1');
    transport.follow(['dm-ab12', 'general'], { onEvent: (ev) => events.push(ev) }, ['general']);
    await tick();
    assert.deepEqual(events.filter((e) => e.event === 'unread').map((e) => e.data), [{ room: 'dm-ab12', count: 1, mentions: 1 }]);
    transport.close();
  });

  test("the stream's ended event is passed on once and the stream does not reconnect", async () => {
    const { createWebTransport } = await import('../../ui/transport-web.js');
    const transport = createWebTransport();
    await transport.signIn('ana', '');
    const events = [];
    const states = [];
    const ended = { reason: 'banned', error: `you are banned until ${UNTIL}: spam`, until: UNTIL };
    streamText = sse('ready', { room: 'general', resumed: false, last_id: null }) + sse('ended', ended);
    requests.length = 0;
    transport.follow(['general'], { onEvent: (ev) => events.push(ev), onState: (st) => states.push(st) }, ['general']);
    await tick();
    assert.deepEqual(events.map((e) => e.event), ['ready', 'ended']);
    assert.deepEqual(events[1], { event: 'ended', data: ended, id: '' });
    assert.deepEqual(states, ['connecting', 'open'], 'never "down": no retry is scheduled');
    transport.reconnect();
    await tick();
    assert.equal(requests.filter((r) => r.url.startsWith('/api/events')).length, 1);
  });

  test('a request refused 403 "banned" while following ends the session as an ended event', async () => {
    const { createWebTransport } = await import('../../ui/transport-web.js');
    const transport = createWebTransport();
    await transport.signIn('ana', '');
    const events = [];
    streamText = '';
    transport.follow(['general'], { onEvent: (ev) => events.push(ev) }, ['general']);
    await tick();
    await assert.rejects(transport.typing('general'), (err) => err.reason === 'banned' && err.until === UNTIL);
    assert.deepEqual(events.filter((e) => e.event === 'ended'), [
      { event: 'ended', data: { reason: 'banned', error: `you are banned until ${UNTIL}: spam`, until: UNTIL }, id: '' },
    ]);
    // Stopped: a second refusal tells no one.
    await assert.rejects(transport.typing('general'));
    assert.equal(events.filter((e) => e.event === 'ended').length, 1);
  });

  test('a stream refused 403 "banned" is passed on as ended, without retrying', async () => {
    const { createWebTransport } = await import('../../ui/transport-web.js');
    const transport = createWebTransport();
    await transport.signIn('ana', '');
    const events = [];
    const states = [];
    streamBanned = true;
    requests.length = 0;
    transport.follow(['general'], { onEvent: (ev) => events.push(ev), onState: (st) => states.push(st) }, ['general']);
    await tick();
    streamBanned = false;
    assert.deepEqual(events, [{ event: 'ended', data: { reason: 'banned', error: `you are banned until ${UNTIL}: spam`, until: UNTIL }, id: '' }]);
    assert.deepEqual(states, ['connecting']);
    transport.reconnect();
    await tick();
    assert.equal(requests.filter((r) => r.url.startsWith('/api/events')).length, 1);
  });
});

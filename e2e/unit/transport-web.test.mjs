// The web transport's own keeping (ui/transport-web.js) over a stubbed
// fetch: the stream cursor across refollows, `unread` events, and the
// outbox posting once the stream is up. The browser tests cover the rest.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

const requests = [];
let streamText = ''; // what the next event stream sends before staying open
const encoder = new TextEncoder();

function sse(event, data, id = '') {
  return `event: ${event}\n${id ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}

before(() => {
  globalThis.window = new EventTarget();
  globalThis.document = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  globalThis.fetch = async (url, init = {}) => {
    const method = init.method || 'GET';
    requests.push({ url, method, headers: init.headers || {}, body: init.body ? JSON.parse(init.body) : null });
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
    if (url === '/api/session' && method === 'POST') return Response.json({ nick: 'ana', expires_at: 0 }, { status: 201 });
    if (url === '/api/rooms') {
      return Response.json([{ room: 'dev', online: 0, last_id: 'old' }, { room: 'general', online: 1, last_id: null }]);
    }
    if (url.includes('/messages/') || url.endsWith('/typing')) {
      if (method === 'PATCH' && url.endsWith('/mine')) return Response.json({ id: 'mine', text: JSON.parse(init.body).text });
      if (url.includes('/theirs')) return Response.json({ error: 'This is not your message.' }, { status: 403 });
      return new Response(null, { status: 204 });
    }
    if (url.startsWith('/api/rooms/') && method === 'POST') {
      const { text, client_id: clientId } = JSON.parse(init.body);
      return Response.json({ id: 'stored-1', room: 'general', nick: 'ana', text, ts: 0, client_id: clientId }, { status: 201 });
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

describe('the web transport', () => {
  test('counts unread, keeps its cursor across refollows, forgets it on close', async () => {
    const { createWebTransport } = await import('../../ui/transport-web.js');
    const transport = createWebTransport();
    assert.equal(transport.pageSize, 50);
    await transport.signIn('ana', '');
    await transport.rooms();
    transport.setActive('general');
    const events = [];
    const states = [];
    const handlers = { onEvent: (ev) => events.push(ev), onState: (st) => states.push(st) };
    const msg = (id, room, nick) => ({ id, room, nick, text: id, ts: 0, client_id: null });
    streamText = sse('message', msg('old', 'dev', 'bo'), 'cur-1')
      + sse('ready', { room: 'dev', resumed: false, last_id: 'old' })
      + sse('message', msg('new', 'dev', 'bo'), 'cur-2')
      + sse('message', msg('mine', 'dev', 'ana'), 'cur-3')
      + sse('message', msg('here', 'general', 'bo'), 'cur-4');
    transport.follow(['dev', 'general'], handlers, ['general']);
    await tick();
    assert.deepEqual(states, ['connecting', 'open']);
    const unread = events.filter((e) => e.event === 'unread').map((e) => e.data);
    assert.deepEqual(unread, [{ room: 'dev', count: 1, mentions: 0 }], 'not the baseline, not mine, not the room on screen');
    assert.deepEqual(events.filter((e) => e.event === 'message').map((e) => e.id), ['cur-1', 'cur-2', 'cur-3', 'cur-4']);

    events.length = 0;
    transport.setActive('dev');
    assert.deepEqual(events, [{ event: 'unread', data: { room: 'dev', count: 0, mentions: 0 }, id: '' }]);

    streamText = '';
    transport.follow(['dev', 'general'], handlers, ['dev']);
    await tick();
    const streams = requests.filter((r) => r.url.startsWith('/api/events'));
    assert.equal(streams.at(-1).headers['Last-Event-ID'], 'cur-4', 'resumes where the last stream was');
    assert.match(streams.at(-1).url, /present=dev$/);

    transport.close();
    transport.follow(['general'], handlers, ['general']);
    await tick();
    assert.equal(requests.filter((r) => r.url.startsWith('/api/events')).at(-1).headers['Last-Event-ID'], undefined);
    transport.close();
  });

  test('its outbox posts once the stream is up and reports the stored message', async () => {
    const { createWebTransport } = await import('../../ui/transport-web.js');
    const transport = createWebTransport();
    await transport.signIn('ana', '');
    const updates = [];
    const entry = await transport.outbox.enqueue('general', 'hello');
    assert.equal(entry.state, 'queued');
    assert.deepEqual((await transport.outbox.pending()).map((e) => e.clientId), [entry.clientId]);
    streamText = '';
    transport.follow(['general'], { onOutbox: (u) => updates.push(u) }, ['general']);
    await tick();
    const post = requests.find((r) => r.method === 'POST' && r.url === '/api/rooms/general/messages');
    assert.deepEqual(post.body, { text: 'hello', client_id: entry.clientId });
    assert.deepEqual(updates.map((u) => u.state), ['sending', 'sent']);
    assert.equal(updates[1].messageId, 'stored-1');
    assert.equal(updates[1].message.text, 'hello');
    assert.deepEqual(await transport.outbox.pending(), []);
    transport.close();
  });

  test('the room log actions: one request each, errors as TransportError', async () => {
    const { createWebTransport } = await import('../../ui/transport-web.js');
    const transport = createWebTransport();
    await transport.signIn('ana', '');
    requests.length = 0;
    assert.deepEqual(await transport.editMessage('general', 'mine', 'fixed'), { id: 'mine', text: 'fixed' });
    assert.equal(await transport.deleteMessage('general', 'm 1'), undefined);
    await transport.setReaction('general', 'm1', '👍', true);
    await transport.setReaction('general', 'm1', '👍', false);
    await transport.typing('general');
    assert.deepEqual(requests.map((r) => [r.method, r.url, r.body]), [
      ['PATCH', '/api/rooms/general/messages/mine', { text: 'fixed' }],
      ['DELETE', '/api/rooms/general/messages/m%201', null],
      ['PUT', '/api/rooms/general/messages/m1/reactions/%F0%9F%91%8D', null],
      ['DELETE', '/api/rooms/general/messages/m1/reactions/%F0%9F%91%8D', null],
      ['POST', '/api/rooms/general/typing', null],
    ]);
    await assert.rejects(transport.editMessage('general', 'theirs', 'x'), (err) => err.status === 403
      && err.kind === 'forbidden' && err.message === 'This is not your message.');
    transport.close();
  });

  test('a reply goes through the outbox with reply_to', async () => {
    const { createWebTransport } = await import('../../ui/transport-web.js');
    const transport = createWebTransport();
    await transport.signIn('ana', '');
    requests.length = 0;
    const entry = await transport.outbox.enqueue('general', 'yes', { replyTo: 'm1' });
    assert.equal(entry.replyTo, 'm1');
    streamText = '';
    transport.follow(['general'], {}, ['general']);
    await tick();
    const post = requests.find((r) => r.method === 'POST' && r.url === '/api/rooms/general/messages');
    assert.deepEqual(post.body, { text: 'yes', client_id: entry.clientId, reply_to: 'm1' });
    transport.close();
  });
});

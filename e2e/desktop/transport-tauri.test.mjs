// The desktop transport (ui/transport-tauri.js) over a stubbed Tauri API:
// errors keep Rust's kind, the chat view's Channel is passed on as Rust
// sends it (no made-up protocol events, `resumed` untouched), and the
// interface's calls map to the documented commands. No window needed; the
// window tests (app.test.mjs) cover the real app.

import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';

import { commandError, createTauriTransport } from '../../ui/transport-tauri.js';

const ROOM = (id, room, nick = 'ana', server = 'http://10.0.0.2:8989/') => ({
  id, url: `${server}r/${room}`, server, room, nick, hosted: false,
  connection_key: `${server} ${nick}`, connection: { state: 'connected' }, unread: 0,
});
const general = ROOM('g1', 'general');
const dev = ROOM('d1', 'dev');
const elsewhere = ROOM('x1', 'general', 'ana', 'http://10.0.0.3:8989/');

let calls;
let channels;
let answers;

function fakeTauri() {
  class Channel {
    constructor() {
      this.onmessage = null;
      channels.push(this);
    }
  }
  return {
    core: {
      Channel,
      convertFileSrc: (path, protocol) => `${protocol}://localhost/${encodeURIComponent(path)}`,
      invoke: async (command, args, options) => {
        calls.push(options === undefined ? [command, args] : [command, args, options]);
        const answer = answers[command];
        return typeof answer === 'function' ? answer(args) : answer;
      },
    },
  };
}

function recorder() {
  const seen = [];
  return {
    seen,
    handlers: {
      onEvent: (ev) => seen.push(['event', ev]),
      onState: (state, detail) => seen.push(['state', state, detail]),
      onAuthError: (message) => seen.push(['auth', message]),
      onOutbox: (update) => seen.push(['outbox', update]),
    },
  };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

async function boundTransport() {
  const transport = createTauriTransport(fakeTauri());
  await transport.desktop.start();
  transport.bind(general);
  return transport;
}

beforeEach(() => {
  globalThis.__HEARTH__ = { pageSize: 50 };
  calls = [];
  channels = [];
  answers = {
    follow_rooms: { rooms: [general, dev, elsewhere], page_size: 50 },
    saved_rooms: [general, dev, elsewhere],
  };
});

describe('the desktop transport', () => {
  test('a command error keeps the kind, status and Retry-After Rust gave', () => {
    const err = commandError({ kind: 'unavailable', message: 'The server said: busy', retryable: true, status: 503, retry_after: 7 });
    assert.equal(err.kind, 'unavailable');
    assert.equal(err.status, 503);
    assert.equal(err.retryable, true);
    assert.equal(err.retryAfter, 7);
    assert.equal(err.message, 'The server said: busy');
    const password = commandError({ kind: 'unauthorized', message: 'This room needs a password.', retryable: false });
    assert.equal(password.status, 401);
    assert.equal(password.retryable, false);
    assert.equal(commandError('invalid args `roomId`').kind, 'local');
  });

  test('the page size comes from Rust', async () => {
    const transport = await boundTransport();
    assert.equal(transport.pageSize, 50);
  });

  test('the chat view gets what Rust sends on its Channel, as it sends it', async () => {
    const transport = await boundTransport();
    const { seen, handlers } = recorder();
    transport.follow(['general', 'dev', 'not-saved'], handlers, ['general']);
    await flush();
    const open = calls.find(([command]) => command === 'open_view');
    assert.deepEqual(open[1].roomIds, ['g1', 'd1']);
    const view = open[1].onEvent;
    assert.ok(view instanceof Object && view === channels.at(-1));
    assert.deepEqual(calls.find(([command]) => command === 'set_active_room')[1], { roomId: 'g1' });

    const message = { id: '5-0', room: 'general', nick: 'bo', text: 'hi', ts: 't', client_id: null };
    view.onmessage({ room_id: 'g1', event: 'connection', data: { state: 'connected' } });
    view.onmessage({ room_id: 'd1', event: 'connection', data: { state: 'connected' } });
    view.onmessage({ room_id: 'g1', event: 'message', data: message });
    view.onmessage({ room_id: 'g1', event: 'ready', data: { room: 'general', resumed: false, last_id: '5-0' } });
    view.onmessage({ room_id: 'd1', event: 'unread', data: { count: 3, mentions: 1, total: 3 } });
    view.onmessage({ room_id: 'g1', event: 'outbox', data: { client_id: 'c1', state: 'queued', wait_reason: 'slow', retry_at_ms: 99 } });
    view.onmessage({ room_id: 'g1', event: 'connection', data: { state: 'reconnecting', attempt: 1, retry_in_ms: 1500, reason: 'gone' } });
    assert.deepEqual(seen, [
      ['state', 'open', {}],
      ['event', { event: 'message', data: message, id: '' }],
      ['event', { event: 'ready', data: { room: 'general', resumed: false, last_id: '5-0' }, id: '' }],
      ['event', { event: 'unread', data: { room: 'dev', count: 3, mentions: 1 }, id: '' }],
      ['outbox', { clientId: 'c1', room: 'general', state: 'queued', messageId: null, error: '', waitReason: 'slow', retryAt: 99 }],
      ['state', 'down', { retryInMs: 1500, message: 'gone' }],
    ]);

    // Following again changes the rooms on the same Channel.
    transport.follow(['general'], handlers, ['general']);
    await flush();
    assert.deepEqual(calls.at(-1), ['set_view_rooms', { roomIds: ['g1'] }]);
    assert.equal(channels.filter((c) => c === view).length, 1);

    // A session that ended: onAuthError, then nothing more.
    view.onmessage({ room_id: 'g1', event: 'connection', data: { state: 'offline', reason: 'refused', kind: 'unauthorized' } });
    view.onmessage({ room_id: 'g1', event: 'message', data: message });
    assert.deepEqual(seen.at(-1), ['auth', 'refused']);
    await flush();
    assert.deepEqual(calls.at(-1), ['close_view', {}]);
  });

  test('the outbox, posts and signing in go to their commands', async () => {
    const transport = await boundTransport();
    answers.post_message = ({ roomId, text }) => ({ client_id: 'c9', room_id: roomId, text, queued_at_ms: 7 });
    answers.pending_messages = [
      { client_id: 'c1', room_id: 'd1', text: 'a', queued_at_ms: 1 },
      { client_id: 'c2', room_id: 'x1', text: 'elsewhere', queued_at_ms: 2 },
      { client_id: 'c3', room_id: 'g1', text: 'b', queued_at_ms: 3, failed: 'The server said: no' },
    ];
    answers.post_once = ({ text, clientId }) => ({ message: { id: '1-0', text, client_id: clientId }, repeated: false });
    answers.sign_in_again = { nick: 'ana', expires_at: null };
    answers.room_info = { name: 'Hearth', auth: 'none', rooms: ['general'], default_room: 'general' };

    const entry = await transport.outbox.enqueue('dev', 'hello');
    assert.deepEqual(entry, { clientId: 'c9', room: 'dev', text: 'hello', createdAt: 7, state: 'queued', error: '', messageId: null });
    assert.deepEqual(calls.at(-1), ['post_message', { roomId: 'd1', text: 'hello' }]);
    const pending = await transport.outbox.pending();
    assert.deepEqual(pending.map((e) => [e.clientId, e.room, e.state, e.error]), [
      ['c1', 'dev', 'queued', ''],
      ['c3', 'general', 'failed', 'The server said: no'],
    ]);
    const posted = await transport.post('general', 'once', 'k1');
    assert.equal(posted.repeated, false);
    assert.deepEqual(calls.at(-1), ['post_once', { roomId: 'g1', text: 'once', clientId: 'k1' }]);
    assert.deepEqual(await transport.signIn('ana', 'sesame'), { nick: 'ana', expires_at: null, protected: false, admin: false });
    assert.deepEqual(calls.at(-1), ['sign_in_again', { roomId: 'g1', password: 'sesame' }]);
    await assert.rejects(transport.signIn('bo', 'x'), (err) => err.kind === 'invalid');
    assert.equal((await transport.info()).default_room, 'general');
    assert.deepEqual(calls.at(-1), ['room_info', { roomId: 'g1' }]);
    assert.equal(await transport.openRoom('dev'), null);
    await assert.rejects(transport.history('nowhere', null), (err) => err.kind === 'not_found');
  });

  test("the room log's writes and replies go to their commands", async () => {
    const transport = await boundTransport();
    const edited = { id: '5-0', room: 'dev', nick: 'ana', text: 'fixed', ts: 't', edited_ts: 'u' };
    answers.edit_message = edited;
    answers.delete_message = null;
    answers.set_reaction = null;
    answers.send_typing = null;
    answers.post_message = ({ roomId, text, replyTo }) =>
      ({ client_id: 'c7', room_id: roomId, text, reply_to: replyTo, queued_at_ms: 7 });

    assert.deepEqual(await transport.editMessage('dev', '5-0', 'fixed'), edited);
    assert.deepEqual(calls.at(-1), ['edit_message', { roomId: 'd1', messageId: '5-0', text: 'fixed' }]);
    assert.equal(await transport.deleteMessage('general', '6-0'), undefined);
    assert.deepEqual(calls.at(-1), ['delete_message', { roomId: 'g1', messageId: '6-0' }]);
    assert.equal(await transport.setReaction('dev', '5-0', '👍', true), undefined);
    assert.deepEqual(calls.at(-1), ['set_reaction', { roomId: 'd1', messageId: '5-0', emoji: '👍', on: true }]);
    await transport.setReaction('dev', '5-0', '👍', false);
    assert.deepEqual(calls.at(-1), ['set_reaction', { roomId: 'd1', messageId: '5-0', emoji: '👍', on: false }]);
    assert.equal(await transport.typing('dev'), undefined);
    assert.deepEqual(calls.at(-1), ['send_typing', { roomId: 'd1' }]);

    const entry = await transport.outbox.enqueue('dev', 'agreed', { replyTo: '5-0' });
    assert.deepEqual(calls.at(-1), ['post_message', { roomId: 'd1', text: 'agreed', replyTo: '5-0' }]);
    assert.equal(entry.replyTo, '5-0');
    await transport.outbox.enqueue('dev', 'plain', {});
    assert.deepEqual(calls.at(-1), ['post_message', { roomId: 'd1', text: 'plain' }]);

    // Rust's errors keep their kind; an unknown room never reaches Rust.
    answers.delete_message = () => {
      throw { kind: 'forbidden', message: 'Only its author can do that.', retryable: false, status: 403 };
    };
    await assert.rejects(transport.deleteMessage('dev', '9-0'), (err) => err.kind === 'forbidden');
    const before = calls.length;
    await assert.rejects(transport.editMessage('nowhere', '1-0', 'x'), (err) => err.kind === 'not_found');
    assert.equal(calls.length, before);
  });

  test('files: staged bytes and dropped paths go with the message; progress, URLs, downloads and drops', async () => {
    const transport = await boundTransport();
    const { seen, handlers } = recorder();
    answers.stage_file = (bytes) => ({ staged: 'staged-1', name: 'shot.png', size: bytes.length, type: 'image/png' });
    answers.post_message = ({ roomId, text, files }) => ({
      client_id: 'c5', room_id: roomId, text, queued_at_ms: 7,
      files: files.map((f, i) => ({ name: f.name, size: i ? 3 : 4, type: f.type ?? '', path: '/x', spooled: !f.path })),
    });
    const blob = new Blob([new Uint8Array([1, 2, 3, 4])], { type: 'image/png' });
    const entry = await transport.outbox.enqueue('dev', '', {
      files: [
        { kind: 'blob', blob, name: 'shot ✓.png', size: 4, type: 'image/png' },
        { kind: 'path', path: '/home/ana/notes.txt', name: 'notes.txt', size: 3 },
      ],
    });
    const stage = calls.find(([command]) => command === 'stage_file');
    assert.deepEqual([...stage[1]], [1, 2, 3, 4]);
    assert.deepEqual(stage[2], { headers: { 'Hearth-Name': 'shot%20%E2%9C%93.png', 'Hearth-Type': 'image/png', 'Hearth-Room': 'd1' } });
    assert.deepEqual(calls.at(-1), ['post_message', { roomId: 'd1', text: '', files: [
      { staged: 'staged-1', name: 'shot.png', type: 'image/png' },
      { path: '/home/ana/notes.txt', name: 'notes.txt' },
    ] }]);
    assert.deepEqual(entry.files, [
      { name: 'shot.png', size: 4, type: 'image/png', sent: 0 },
      { name: 'notes.txt', size: 3, type: '', sent: 0 },
    ]);

    // Upload progress arrives as 'sending' with each file's bytes sent.
    transport.follow(['dev'], handlers, ['dev']);
    await flush();
    const view = calls.find(([command]) => command === 'open_view')[1].onEvent;
    view.onmessage({ room_id: 'd1', event: 'outbox', data: { client_id: 'c5', state: 'sending', files: [
      { name: 'shot.png', size: 4, type: 'image/png', sent: 4, file_id: 'f1' },
      { name: 'notes.txt', size: 3, type: '', sent: 1 },
    ] } });
    assert.deepEqual(seen.at(-1), ['outbox', { clientId: 'c5', room: 'dev', state: 'sending', messageId: null, error: '', files: [
      { name: 'shot.png', size: 4, type: 'image/png', sent: 4, fileId: 'f1' },
      { name: 'notes.txt', size: 3, type: '', sent: 1 },
    ] }]);

    // Images come through the app's scheme; downloads through Rust.
    const image = { id: 'ab'.repeat(16), name: 'cat.png', thumb_url: '/api/files/x/thumb' };
    assert.equal(transport.fileUrl(image, { thumb: true }), `hearthfile://localhost/${encodeURIComponent(`d1/${image.id}/thumb`)}`);
    assert.equal(transport.fileUrl({ ...image, thumb_url: undefined }, { thumb: true }), `hearthfile://localhost/${encodeURIComponent(`d1/${image.id}`)}`);
    answers.save_file = { path: '/home/ana/Downloads/cat (1).png' };
    assert.deepEqual(await transport.download(image), { path: '/home/ana/Downloads/cat (1).png' });
    assert.deepEqual(calls.at(-1), ['save_file', { roomId: 'd1', fileId: image.id, name: 'cat.png' }]);
    answers.show_in_folder = null;
    await transport.showInFolder('/home/ana/Downloads/cat (1).png');
    assert.deepEqual(calls.at(-1), ['show_in_folder', { path: '/home/ana/Downloads/cat (1).png' }]);

    // Dropped files: Rust's drop events, within the element only.
    const got = [];
    const states = [];
    const handler = (files) => got.push(files);
    handler.onDragState = (on) => states.push(on);
    const element = { getBoundingClientRect: () => ({ left: 0, top: 0, right: 100, bottom: 100 }) };
    const stop = transport.onDroppedFiles(element, handler);
    await flush();
    const drops = calls.find(([command]) => command === 'watch_drops')[1].onEvent;
    drops.onmessage({ type: 'enter', x: 10, y: 10 });
    drops.onmessage({ type: 'over', x: 500, y: 10 });
    drops.onmessage({ type: 'over', x: 20, y: 20 });
    drops.onmessage({ type: 'drop', x: 20, y: 20, files: [{ path: '/tmp/a.txt', name: 'a.txt', size: 5 }] });
    drops.onmessage({ type: 'drop', x: 500, y: 20, files: [{ path: '/tmp/b.txt', name: 'b.txt', size: 5 }] });
    assert.deepEqual(states, [true, false, true, false]);
    assert.deepEqual(got, [[{ kind: 'path', path: '/tmp/a.txt', name: 'a.txt', size: 5 }]]);
    stop();
    drops.onmessage({ type: 'drop', x: 20, y: 20, files: [{ path: '/tmp/c.txt', name: 'c.txt', size: 5 }] });
    assert.equal(got.length, 1);
  });
});

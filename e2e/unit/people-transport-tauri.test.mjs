// The app transport's people features (ui/transport-tauri.js) over a
// stubbed Tauri core: the commands and arguments Rust receives (who_am_i,
// sign_in_again, nick_password, open_dm, ban_nick, unban_nick, list_bans;
// see src-tauri/README.md), a refusal's reason and until, the room list's
// `dm`, and the session's end (`ended`) reaching the view once.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createTauriTransport } from '../../ui/transport-tauri.js';

const DM_ROOM = 'dm-0123456789abcdef';

/** A transport bound to ana's connection; `answer(command, args)` is Rust. */
function app(answer = () => null) {
  const calls = [];
  const channels = [];
  const tauri = {
    core: {
      invoke: async (command, args) => {
        calls.push([command, args]);
        return answer(command, args);
      },
      Channel: class {
        constructor() {
          channels.push(this);
        }
      },
    },
  };
  const transport = createTauriTransport(tauri);
  transport.bind({ id: 'r1', room: 'general', connection_key: 'k', server: 'http://s:8989/', nick: 'ana' });
  return { transport, calls, channels };
}

/** A Rust rejection, as CommandError serializes it. */
function rejection(fields) {
  return Object.assign(new Error('rejected'), fields);
}

describe('people over the app transport', () => {
  test('whoAmI asks who_am_i and says protected and admin', async () => {
    const { transport, calls } = app((command) =>
      command === 'who_am_i' ? { nick: 'ana', expires_at: null, protected: true, admin: true } : null);
    assert.deepEqual(await transport.whoAmI(), { nick: 'ana', expires_at: null, protected: true, admin: true });
    assert.deepEqual(calls, [['who_am_i', { roomId: 'r1' }]]);
  });

  test('whoAmI rejects for a banned session, and falls back to the nick when offline', async () => {
    const banned = app(() => {
      throw rejection({ kind: 'forbidden', message: 'you are banned until 2026-12-06T09:00:00Z: spam',
        retryable: false, status: 403, reason: 'banned', until: '2026-12-06T09:00:00Z' });
    });
    await assert.rejects(banned.transport.whoAmI(), (err) =>
      err.kind === 'forbidden' && err.reason === 'banned' && err.until === '2026-12-06T09:00:00Z');
    const offline = app(() => {
      throw rejection({ kind: 'network', message: 'Cannot reach s', retryable: true });
    });
    assert.deepEqual(await offline.transport.whoAmI(), { nick: 'ana', expires_at: null, protected: false, admin: false });
  });

  test('signIn passes the nick password to sign_in_again; a refusal keeps its reason', async () => {
    const { transport, calls } = app((command, args) => {
      if (args.nickPassword === 'wrong') {
        throw rejection({ kind: 'unauthorized', message: 'That is not the nick password of ana.',
          retryable: false, status: 401, reason: 'nick_protected' });
      }
      return { nick: 'ana', expires_at: 'x', protected: true, admin: false };
    });
    assert.deepEqual(await transport.signIn('ana', '', { nickPassword: 'right-password' }),
      { nick: 'ana', expires_at: 'x', protected: true, admin: false });
    await assert.rejects(transport.signIn('ana', 'sesame', { nickPassword: 'wrong' }),
      (err) => err.kind === 'unauthorized' && err.reason === 'nick_protected' && err.status === 401);
    assert.deepEqual(calls, [
      ['sign_in_again', { roomId: 'r1', password: null, nickPassword: 'right-password' }],
      ['sign_in_again', { roomId: 'r1', password: 'sesame', nickPassword: 'wrong' }],
    ]);
  });

  test('nickPassword shows the kept one', async () => {
    const { transport, calls } = app(() => 'AbCdEfGhIjKlMnOpQrStUvWx');
    assert.equal(await transport.nickPassword(), 'AbCdEfGhIjKlMnOpQrStUvWx');
    assert.deepEqual(calls, [['nick_password', { roomId: 'r1' }]]);
  });

  test('openDm saves the DM room through open_dm; it then opens without a join', async () => {
    const dmView = { id: 'r9', room: DM_ROOM, dm: 'bo', connection_key: 'k', server: 'http://s:8989/', nick: 'ana' };
    const { transport, calls } = app((command) => {
      if (command === 'open_dm') return { room: DM_ROOM, nick: 'bo', room_id: 'r9' };
      if (command === 'saved_rooms') {
        return [{ id: 'r1', room: 'general', connection_key: 'k', server: 'http://s:8989/', nick: 'ana' }, dmView];
      }
      return null;
    });
    assert.deepEqual(await transport.openDm('bo'), { room: DM_ROOM, nick: 'bo' });
    assert.equal(await transport.openRoom(DM_ROOM), null);
    assert.deepEqual(calls.map(([c]) => c), ['open_dm', 'saved_rooms']);
    assert.deepEqual(calls[0][1], { roomId: 'r1', nick: 'bo' });
  });

  test('a refused openDm keeps the server\'s reason', async () => {
    const { transport } = app(() => {
      throw rejection({ kind: 'conflict', message: 'The server said: bo is not protected',
        retryable: false, status: 409, reason: 'not_protected' });
    });
    await assert.rejects(transport.openDm('bo'), (err) => err.kind === 'conflict' && err.reason === 'not_protected');
  });

  test('ban, unban and bans call ban_nick, unban_nick and list_bans', async () => {
    const ban = { nick: 'bo', until: '2026-12-06T09:00:00Z', by: 'ana', reason: 'spam' };
    const { transport, calls } = app((command) => (command === 'list_bans' ? [ban] : command === 'ban_nick' ? ban : null));
    assert.deepEqual(await transport.ban('bo', 60, 'spam'), ban);
    await transport.ban('cy', 15);
    await transport.unban('bo');
    assert.deepEqual(await transport.bans(), [ban]);
    assert.deepEqual(calls, [
      ['ban_nick', { roomId: 'r1', nick: 'bo', minutes: 60, reason: 'spam' }],
      ['ban_nick', { roomId: 'r1', nick: 'cy', minutes: 15 }],
      ['unban_nick', { roomId: 'r1', nick: 'bo' }],
      ['list_bans', { roomId: 'r1' }],
    ]);
  });

  test('rooms pass the listing\'s dm through, and save a DM someone else started', async () => {
    const saved = [{ id: 'r1', room: 'general', connection_key: 'k', server: 'http://s:8989/', nick: 'ana' }];
    const { transport, calls } = app((command) => {
      if (command === 'list_rooms') {
        return [{ room: 'general', online: 2, last_id: null }, { room: DM_ROOM, online: 1, last_id: null, dm: 'bo' }];
      }
      if (command === 'open_dm') {
        saved.push({ id: 'r9', room: DM_ROOM, dm: 'bo', connection_key: 'k', server: 'http://s:8989/', nick: 'ana' });
        return { room: DM_ROOM, nick: 'bo', room_id: 'r9' };
      }
      if (command === 'saved_rooms') return saved;
      return null;
    });
    transport.desktop.liveOf('r1').connection = { state: 'connected' };
    const rooms = await transport.rooms();
    assert.deepEqual(rooms.map((r) => [r.room, r.dm ?? null]), [['dm-0123456789abcdef', 'bo'], ['general', null]]);
    assert.deepEqual(calls.filter(([c]) => c === 'open_dm'), [['open_dm', { roomId: 'r1', nick: 'bo' }]]);
    await transport.rooms();
    assert.equal(calls.filter(([c]) => c === 'open_dm').length, 1, 'saved once');
  });

  test('a banned session\'s room list rejects, so the chat can say why', async () => {
    const { transport } = app(() => {
      throw rejection({ kind: 'forbidden', message: 'you are banned until 2026-12-06T09:00:00Z: spam',
        retryable: false, status: 403, reason: 'banned', until: '2026-12-06T09:00:00Z' });
    });
    transport.desktop.liveOf('r1').connection = { state: 'connected' };
    await assert.rejects(transport.rooms(), (err) => err.reason === 'banned' && err.until === '2026-12-06T09:00:00Z');
  });

  test('the session\'s end reaches the view once, as ended, and following stops', async () => {
    const { transport, calls, channels } = app();
    const events = [];
    let authErrors = 0;
    transport.follow(['general'], { onEvent: (ev) => events.push(ev), onState: () => {}, onAuthError: () => { authErrors += 1; } });
    await transport.calls;
    const ended = { reason: 'banned', error: 'you are banned until 2026-12-06T09:00:00Z: spam', until: '2026-12-06T09:00:00Z' };
    const [channel] = channels;
    channel.onmessage({ room_id: 'r1', event: 'ended', data: ended });
    channel.onmessage({ room_id: 'r1', event: 'ended', data: ended }); // another room of the connection
    channel.onmessage({ room_id: 'r1', event: 'connection', data: { state: 'offline', reason: 'banned', kind: 'forbidden' } });
    await transport.calls;
    assert.deepEqual(events, [{ event: 'ended', data: ended, id: '' }]);
    assert.equal(authErrors, 0);
    assert.deepEqual(calls.map(([c]) => c), ['open_view', 'close_view']);
  });

  test('a command refused as banned ends the view the same way', async () => {
    const { transport } = app((command) => {
      if (command === 'post_once') {
        throw rejection({ kind: 'forbidden', message: 'you are banned until 2026-12-06T09:00:00Z',
          retryable: false, status: 403, reason: 'banned', until: '2026-12-06T09:00:00Z' });
      }
      return null;
    });
    const events = [];
    transport.follow(['general'], { onEvent: (ev) => events.push(ev), onState: () => {} });
    await assert.rejects(transport.post('general', 'hi', 'c1'), (err) => err.reason === 'banned');
    assert.deepEqual(events, [{
      event: 'ended',
      data: { reason: 'banned', error: 'you are banned until 2026-12-06T09:00:00Z', until: '2026-12-06T09:00:00Z' },
      id: '',
    }]);
  });
});

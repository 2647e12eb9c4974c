// "Retry now" and the room list while offline, over the app transport
// (ui/transport-tauri.js) with a stubbed Tauri core: retry_now gets the
// bound room's id, and a room list asked for while the connection is down
// keeps the rooms of the last one (no room drops out of the sidebar).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createTauriTransport } from '../../ui/transport-tauri.js';

function app(answer = () => null) {
  const calls = [];
  const tauri = {
    core: {
      invoke: async (command, args) => {
        calls.push([command, args]);
        return answer(command, args);
      },
      Channel: class {},
    },
  };
  const transport = createTauriTransport(tauri);
  transport.bind({ id: 'r1', room: 'general', connection_key: 'k', server: 'http://s:8989/', nick: 'ana' });
  return { transport, calls };
}

test('Retry now asks Rust to reconnect the bound room now', async () => {
  const { transport, calls } = app();
  await transport.retryNow('general');
  assert.deepEqual(calls, [['retry_now', { roomId: 'r1' }]]);
  transport.reconnect();
  await Promise.resolve();
  assert.deepEqual(calls.at(-1), ['retry_now', { roomId: 'r1' }]);
  await transport.retryNow('not-saved'); // no such room: nothing asked
  assert.equal(calls.length, 2);
});

test('while offline the room list is the last one, not only the saved rooms', async () => {
  const { transport } = app((command) => (command === 'list_rooms'
    ? [{ room: 'general', online: 2, last_id: null }, { room: 'random', online: 1, last_id: null }]
    : null));
  const live = transport.desktop.liveOf('r1');
  live.connection = { state: 'connected' };
  assert.deepEqual((await transport.rooms()).map((r) => r.room), ['general', 'random']);
  live.connection = { state: 'reconnecting' };
  assert.deepEqual((await transport.rooms()).map((r) => r.room), ['general', 'random']);
});

// The app transport's search and historyAfter (ui/transport-tauri.js) over
// a stubbed Tauri core: the commands and arguments Rust receives
// (search_messages, room_history_after; see src-tauri/README.md).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createTauriTransport } from '../../ui/transport-tauri.js';

function app() {
  const calls = [];
  const tauri = {
    core: {
      invoke: async (command, args) => {
        calls.push([command, args]);
        return [];
      },
      Channel: class {},
    },
  };
  const transport = createTauriTransport(tauri);
  transport.bind({ id: 'r1', room: 'general', connection_key: 'k', server: 's', nick: 'ana' });
  transport.desktop.know({ id: 'r2', room: 'dev', connection_key: 'k', server: 's', nick: 'ana' });
  return { transport, calls };
}

describe('search over the app transport', () => {
  test('search goes to search_messages with a saved room of the bound connection', async () => {
    const { transport, calls } = app();
    await transport.search('café 天气', { rooms: ['dev'], before: '17-0', limit: 20 });
    await transport.search('x');
    assert.deepEqual(calls, [
      ['search_messages', { roomId: 'r1', q: 'café 天气', rooms: ['dev'], before: '17-0', limit: 20 }],
      ['search_messages', { roomId: 'r1', q: 'x' }],
    ]);
  });

  test('historyAfter goes to room_history_after with the room\'s saved id', async () => {
    const { transport, calls } = app();
    await transport.historyAfter('dev', '17-0', 200);
    assert.deepEqual(calls, [['room_history_after', { roomId: 'r2', after: '17-0', limit: 200 }]]);
    await assert.rejects(transport.historyAfter('elsewhere', '1-0', 10), (err) => err.kind === 'not_found');
  });
});

// Direct messages' rules (ui/dm-rules.js): which rooms are DMs, their
// labels, the other person's online state, DM messages counting like
// mentions, and the sentence for a refused DM.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  countsAsMention, dmLabel, dmRefusal, dmRooms, isDmName, onlineAnywhere, roomNameProblem, splitShown,
} from '../../ui/dm-rules.js';
import { TransportError } from '../../ui/transport-error.js';
import { UnreadCounter } from '../../ui/unread-rules.js';

const LIST = [
  { room: 'general', online: 2, last_id: 'a' },
  { room: 'dm-9f2c', online: 0, last_id: null, dm: 'bo' },
  { room: 'dm-11aa', online: 1, last_id: 'b', dm: 'Cy' },
  { room: 'random', online: 0, last_id: null, dm: '' },
];

test('DM rooms are those listed with the other nick', () => {
  const dms = dmRooms(LIST);
  assert.deepEqual([...dms], [['dm-9f2c', 'bo'], ['dm-11aa', 'Cy']]);
  assert.deepEqual([...dmRooms(null)], []);
  assert.equal(isDmName('dm-9f2c'), true);
  assert.equal(isDmName('general'), false);
  assert.equal(isDmName(undefined), false);
});

test('a DM is labelled with the other nick, never its dm- name', () => {
  const dms = dmRooms(LIST);
  assert.equal(dmLabel('dm-9f2c', dms), 'bo');
  assert.equal(dmLabel('general', dms), 'general');
  assert.equal(dmLabel('general', null), 'general');
});

test('the shown names split into rooms (order kept) and DMs (by nick)', () => {
  const dms = dmRooms(LIST);
  const { rooms, dms: direct } = splitShown(['dm-11aa', 'dm-9f2c', 'general', 'random'], dms);
  assert.deepEqual(rooms, ['general', 'random']);
  assert.deepEqual(direct, [{ room: 'dm-9f2c', nick: 'bo' }, { room: 'dm-11aa', nick: 'Cy' }]);
});

test('the other person is online when in the presence of any followed room', () => {
  const rooms = [{ online: new Set(['ana']) }, { online: null }, { online: ['bo'] }];
  assert.equal(onlineAnywhere('bo', rooms), true);
  assert.equal(onlineAnywhere('ana', rooms), true);
  assert.equal(onlineAnywhere('cy', rooms), false);
  assert.equal(onlineAnywhere('', rooms), false);
  assert.equal(onlineAnywhere('bo', []), false);
});

test('every DM message from the other person counts like a mention', () => {
  const dms = dmRooms(LIST);
  assert.equal(countsAsMention({ room: 'dm-9f2c', nick: 'bo', text: 'hi' }, 'ana', dms), true);
  assert.equal(countsAsMention({ room: 'dm-9f2c', nick: 'ana', text: 'mine' }, 'ana', dms), false);
  assert.equal(countsAsMention({ room: 'general', nick: 'bo', text: 'hi' }, 'ana', dms), false);
  assert.equal(countsAsMention({ room: 'general', nick: 'bo', text: '@ana', mentions: ['ana'] }, 'ana', dms), true);
});

test('the unread counter counts DM messages as mentions, with a listed DM counting from its start', () => {
  const unread = new UnreadCounter();
  unread.listed([{ room: 'general', last_id: null }]);
  unread.ready({ room: 'general' });
  unread.listed([{ room: 'general', last_id: null }, { room: 'dm-9f2c', last_id: 'd1', dm: 'bo' }]);
  assert.equal(unread.message({ id: 'd1', room: 'dm-9f2c', nick: 'bo', text: 'hello ana' }, 'ana'), 1);
  assert.equal(unread.mentions('dm-9f2c'), 1);
  assert.equal(unread.message({ id: 'd2', room: 'dm-9f2c', nick: 'ana', text: 'hi' }, 'ana'), null);
  assert.equal(unread.message({ id: 'g1', room: 'general', nick: 'bo', text: 'hi all' }, 'ana'), 1);
  assert.equal(unread.mentions('general'), 0);
  assert.deepEqual(unread.setActive('dm-9f2c'), [{ room: 'dm-9f2c', count: 0 }]);
  assert.equal(unread.mentions('dm-9f2c'), 0);
});

test('a refused DM says who has not protected their nick, readably', () => {
  const err = new TransportError(409, "bo has not protected their nick, so you can't message them privately yet", { reason: 'not_protected' });
  assert.equal(dmRefusal(err, 'bo'), "Bo has not protected their nick, so you can't message them privately yet.");
  const self = new TransportError(400, 'you cannot message yourself.');
  assert.equal(dmRefusal(self, 'ana'), 'You cannot message yourself.');
  const net = new TransportError(0, 'Cannot reach the server.');
  assert.equal(dmRefusal(net, 'bo'), 'Could not message bo: cannot reach the server.');
});

test('ordinary rooms may not start with dm-', () => {
  assert.match(roomNameProblem('dm-abc'), /kept for direct messages/);
  assert.equal(roomNameProblem('dmz'), '');
});

test("the chat state keeps a DM opened this session until a room list has it, and labels it", async () => {
  const { ChatState } = await import('../../ui/chat-state.js');
  const state = new ChatState(50);
  state.setListed([{ room: 'general', online: 1, last_id: null }]);
  state.addDm('dm-9f2c', 'bo');
  assert.equal(state.label('dm-9f2c'), 'bo');
  assert.equal(state.label('general'), 'general');
  assert.ok(state.shownRooms().includes('dm-9f2c'));
  // A room list from before the DM was created still shows it…
  state.setListed([{ room: 'general', online: 1, last_id: null }]);
  assert.ok(state.listed.includes('dm-9f2c'));
  assert.equal(state.dms.get('dm-9f2c'), 'bo');
  // …and once listed by the server, the server's word counts.
  state.setListed([{ room: 'general', online: 1, last_id: null }, { room: 'dm-9f2c', online: 0, last_id: null, dm: 'Bo' }]);
  assert.equal(state.label('dm-9f2c'), 'Bo');
  assert.equal(state.openedDms.size, 0);
  state.reset();
  assert.equal(state.dms.size, 0);
  assert.deepEqual(state.session, { protected: false, admin: false });
});

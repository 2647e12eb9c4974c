/**
 * dm-rules.js — direct messages (protocol v1.1 "dm"), decided without a DOM.
 *
 * Owns the rules behind the "Direct messages" list and DM unread counts:
 * - `dmRooms(list)`: from a room list [{room, dm?}], the session's DM rooms
 *   as a Map room → the other person's nick (the server lists a DM room
 *   only to its two members, with `dm`: the other nick).
 * - `isDmName(name)`: a name of the DM kind (`dm-…`); ordinary rooms may
 *   not start with it (`roomNameProblem` says so before asking).
 * - `dmLabel(room, dms)`: what the UI shows for a room: the other nick for
 *   a DM (never the `dm-…` name), else the room's name.
 * - `splitShown(names, dms)`: the room list's names split into rooms and
 *   DMs ([{room, nick}], by nick).
 * - `onlineAnywhere(nick, rooms)`: the other person is online when they
 *   are in the presence of any followed room.
 * - `countsAsMention(msg, me, dms)`: every DM message from the other person
 *   counts like a mention; elsewhere mention-rules.js decides.
 * - `dmRefusal(err, nick)`: the sentence for a refused `openDm`.
 *
 * Pure. e2e/unit/dm-rules.test.mjs tests it.
 */

import { mentionsMe } from './mention-rules.js';

export const DM_PREFIX = 'dm-';

export function isDmName(name) {
  return typeof name === 'string' && name.startsWith(DM_PREFIX);
}

/** The DM rooms of a room list: Map room → other nick. */
export function dmRooms(list) {
  const dms = new Map();
  for (const r of Array.isArray(list) ? list : []) {
    if (r && typeof r.room === 'string' && typeof r.dm === 'string' && r.dm) dms.set(r.room, r.dm);
  }
  return dms;
}

/** The label of a room: the other person's nick for a DM, else its name. */
export function dmLabel(room, dms) {
  return dms?.get(room) ?? room;
}

/** `names` split into ordinary rooms (order kept) and DMs [{room, nick}] sorted by nick. */
export function splitShown(names, dms) {
  const rooms = [];
  const direct = [];
  for (const name of names) {
    if (dms?.has(name)) direct.push({ room: name, nick: dms.get(name) });
    else rooms.push(name);
  }
  direct.sort((a, b) => a.nick.localeCompare(b.nick) || a.room.localeCompare(b.room));
  return { rooms, dms: direct };
}

/** Whether `nick` is in the presence (`online`, a Set or array) of any of `rooms`. */
export function onlineAnywhere(nick, rooms) {
  if (typeof nick !== 'string' || !nick) return false;
  for (const room of rooms || []) {
    const online = room?.online;
    if (!online) continue;
    if (typeof online.has === 'function' ? online.has(nick) : online.includes?.(nick)) return true;
  }
  return false;
}

/** Whether a counted message is a mention: any message from the other person of a DM, or one naming the reader. */
export function countsAsMention(msg, me, dms) {
  if (!msg || !me || msg.nick === me) return false;
  if (dms?.has(msg.room)) return true;
  return mentionsMe(msg, me);
}

const sentence = (text) => {
  const s = String(text || '').trim();
  if (!s) return '';
  const first = s[0].toUpperCase() + s.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
};

/** The sentence for a refused `openDm(nick)` (a TransportError). */
export function dmRefusal(err, nick) {
  if (err?.reason === 'not_protected' || err?.status === 409) {
    return sentence(err.message) || `${nick} or you has not protected their nick, so you can't message privately yet.`;
  }
  if (err?.status === 400 && err?.kind === 'invalid') return sentence(err.message) || 'You cannot message yourself.';
  if (err?.isNetwork) return `Could not message ${nick}: cannot reach the server.`;
  return `Could not message ${nick}: ${err?.message || 'the server refused.'}`;
}

/** Why `name` cannot be an ordinary room ('' when it can, as far as DMs go). */
export function roomNameProblem(name) {
  return isDmName(name) ? `Names starting with "${DM_PREFIX}" are kept for direct messages: message a person from the online list instead.` : '';
}

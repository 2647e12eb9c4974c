/**
 * unread-rules.js — how the web transport counts unread messages.
 *
 * Owns: one count per room of the session, and the rules:
 * - a message counts once (by id), unless it is the reader's own or its
 *   room is on screen (`setActive`); the room on screen stays at 0;
 * - the first room list of a session sets each room's baseline (its
 *   `last_id` then): a fresh stream replays the newest messages, and those
 *   up to the baseline were there before the reader came, so they do not
 *   count; a room first listed later is new since then, all of it counts;
 * - after a room's first `ready` (primed) every new message counts;
 * - a counted message that mentions the reader (mention-rules.js) counts
 *   as a mention too (`mentions`), reset with the count; so does every
 *   counted message of a DM room (listed with `dm`, dm-rules.js).
 *
 * Pure: no DOM, no timers. transport-web.js feeds it and sends `unread`
 * events {room, count, mentions} for the counts it returns.
 */

import { countsAsMention } from './dm-rules.js';

const SEEN_PER_ROOM = 500; // ids remembered per room, to count a message once

function freshRoom() {
  return { count: 0, mentions: 0, primed: false, baselineId: undefined, baselineFound: false, seen: new Set() };
}

export class UnreadCounter {
  constructor() {
    this.reset();
  }

  /** Forgets the session: counts, baselines, the room on screen. */
  reset() {
    this.rooms = new Map();
    this.listedOnce = false;
    this.active = null;
    this.dms = new Map(); // DM rooms (room -> other nick) of the room lists seen
  }

  _room(name) {
    let room = this.rooms.get(name);
    if (!room) {
      room = freshRoom();
      this.rooms.set(name, room);
    }
    return room;
  }

  count(name) {
    return this.rooms.get(name)?.count || 0;
  }

  /** How many of the room's unread messages mention the reader. */
  mentions(name) {
    return this.rooms.get(name)?.mentions || 0;
  }

  /** A room list [{room, last_id, dm?}]: baselines for rooms seen the first time; which are DMs. */
  listed(list) {
    for (const r of list) {
      if (!r || typeof r.room !== 'string') continue;
      if (typeof r.dm === 'string' && r.dm) this.dms.set(r.room, r.dm);
      const room = this._room(r.room);
      if (room.baselineId === undefined && !room.primed) {
        room.baselineId = this.listedOnce ? null : (r.last_id ?? null);
      }
    }
    this.listedOnce = true;
  }

  /**
   * The room on screen (null: none). Returns [{room, count}] for the counts
   * that changed (the new room's drops to 0).
   */
  setActive(name) {
    this.active = name || null;
    if (!name) return [];
    const room = this._room(name);
    if (room.count === 0 && room.mentions === 0) return [];
    room.count = 0;
    room.mentions = 0;
    return [{ room: name, count: 0 }];
  }

  /**
   * A stored message {id, room, nick}, `me` the reader's nick. Returns the
   * room's new count when it changed, else null.
   */
  message(msg, me) {
    if (!msg || typeof msg.id !== 'string' || typeof msg.room !== 'string') return null;
    const room = this._room(msg.room);
    if (room.seen.has(msg.id)) return null;
    room.seen.add(msg.id);
    if (room.seen.size > SEEN_PER_ROOM) room.seen.delete(room.seen.values().next().value);
    let changed = null;
    if (msg.room !== this.active && msg.nick !== me
        && (room.primed || room.baselineFound || room.baselineId === null)) {
      room.count += 1;
      if (countsAsMention(msg, me, this.dms)) room.mentions += 1;
      changed = room.count;
    }
    if (!room.primed && room.baselineId === msg.id) room.baselineFound = true;
    return changed;
  }

  /** `ready` {room}: from now on every new message of the room counts. */
  ready(data) {
    if (data && typeof data.room === 'string') this._room(data.room).primed = true;
  }
}

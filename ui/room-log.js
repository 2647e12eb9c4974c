/**
 * room-log.js — one room's messages, kept as the room's log says.
 *
 * Owns: `Room` (the messages of a room oldest first, deduplicated by id,
 * trimmed to the bound cap-rules.js sets, plus what chat-state.js keeps
 * per room) and the rules that apply the log's entries to it (protocol
 * v1.1, "The room log"):
 *
 * - `edit` (the whole message after the edit): the text, `edited_ts` and
 *   `mentions` change in place; position, author, time, reply and
 *   reactions stay (reactions change through their own entries).
 * - `delete` {id}: the message goes, and its id is remembered (`deleted`,
 *   bounded) for the session: an older copy that comes back later (a
 *   history page read before the delete, a post's answer, a desktop
 *   catch-up) does not bring it back.
 * - `reaction` {id, emoji, nick, added}: adds or removes the nick under the
 *   emoji, idempotently; an emoji nobody is left under is dropped.
 * - Entries for messages not loaded here change nothing (a later history
 *   page brings them in their current state).
 * - Replay: a message a stream replays that is known already carries its
 *   current state and replaces the kept copy (`refresh`). After a fresh
 *   replay (`ready.resumed: false`) the replay holds every message still
 *   there from the oldest replayed one on, so a known message in that span
 *   that was not replayed was deleted meanwhile (`pruneAbsent`). A resume
 *   needs neither: it repeats every entry after the cursor, in order.
 *
 * Message objects are never changed in place: an entry that changes one
 * replaces it with a new object, so a caller can tell what changed.
 * Pure: no DOM, no transport, no clock. e2e/unit/room-log.test.mjs tests it.
 */

import { isValidRoom } from './format.js';

export const KEEP_DELETED = 2_000; // deleted ids remembered per room

const isId = (v) => typeof v === 'string' && v.length > 0;

/** `reactions` of a message as the protocol has it, cleaned: {emoji: [nick, …]} with no empty list. */
export function cleanReactions(reactions) {
  const out = {};
  if (!reactions || typeof reactions !== 'object' || Array.isArray(reactions)) return out;
  for (const [emoji, nicks] of Object.entries(reactions)) {
    if (!emoji || !Array.isArray(nicks)) continue;
    const list = [...new Set(nicks.filter((n) => typeof n === 'string' && n))];
    if (list.length) out[emoji] = list;
  }
  return out;
}

/** The parts of a message the log changes, as one comparable string. */
function stateKey(msg) {
  return JSON.stringify([msg.text, msg.edited_ts ?? null, cleanReactions(msg.reactions), msg.mentions ?? null, msg.reply_to ?? null]);
}

export class Room {
  constructor(name) {
    this.name = name;
    this.messages = []; // oldest first
    this.ids = new Set();
    this.deleted = new Set(); // ids deleted this session, oldest first (bounded)
    this.online = null; // Set of nicks from the stream, null until presence
    this.apiOnline = 0; // count from the room list
    this.unread = 0; // as the transport counts it
    this.mentions = 0; // of them, those mentioning the reader
    this.primed = false; // had its first `ready`
    this.hasOlder = true;
    this.loadingOlder = false;
    this.notice = '';
    this.newSince = null; // id of the first unread message when the room was opened
  }

  /** Adds a message at the end; false if its id is known already, or deleted. */
  add(msg) {
    if (this.ids.has(msg.id) || this.deleted.has(msg.id)) return false;
    this.messages.push(msg);
    this.ids.add(msg.id);
    return true;
  }

  /** Older messages (oldest first) at the start; returns the ones that were new. */
  prepend(older) {
    const fresh = older.filter((m) => m && isId(m.id) && !this.ids.has(m.id) && !this.deleted.has(m.id));
    this.messages.unshift(...fresh);
    for (const m of fresh) this.ids.add(m.id);
    return fresh;
  }

  /**
   * Keeps the `keep` newest messages (older ones can be loaded again:
   * `hasOlder`); returns how many were dropped. The unread line's message
   * dropped, there is no line any more.
   */
  trim(keep) {
    const extra = this.messages.length - keep;
    if (extra <= 0) return 0;
    for (const m of this.messages.splice(0, extra)) {
      this.ids.delete(m.id);
      if (this.newSince === m.id) this.newSince = null;
    }
    this.hasOlder = true;
    return extra;
  }

  get onlineCount() {
    return this.online ? this.online.size : this.apiOnline;
  }

  indexOf(id) {
    return this.ids.has(id) ? this.messages.findIndex((m) => m.id === id) : -1;
  }

  get(id) {
    const i = this.indexOf(id);
    return i < 0 ? null : this.messages[i];
  }

  /** Puts `next` where the message with its id is; returns it. */
  _replace(i, next) {
    this.messages[i] = next;
    return next;
  }

  /**
   * A replayed copy of a known message (its current state): replaces the
   * kept one when they differ. Returns the new object, or null.
   */
  refresh(msg) {
    const i = this.indexOf(msg.id);
    if (i < 0 || stateKey(this.messages[i]) === stateKey(msg)) return null;
    return this._replace(i, msg);
  }

  /** `edit`: the message after the edit. Returns the changed message, or null. */
  applyEdit(data) {
    if (!data || !isId(data.id) || typeof data.text !== 'string') return null;
    const i = this.indexOf(data.id);
    if (i < 0) return null;
    const old = this.messages[i];
    const next = {
      ...old,
      text: data.text,
      edited_ts: typeof data.edited_ts === 'string' ? data.edited_ts : (old.edited_ts ?? null),
      mentions: Array.isArray(data.mentions) ? data.mentions : [],
    };
    return stateKey(next) === stateKey(old) ? null : this._replace(i, next);
  }

  /**
   * `delete` {id}: removes the message and remembers the id. Returns the
   * removed message, or null when it was not loaded.
   */
  applyDelete(id) {
    if (!isId(id)) return null;
    this.deleted.delete(id);
    this.deleted.add(id);
    if (this.deleted.size > KEEP_DELETED) this.deleted.delete(this.deleted.values().next().value);
    const i = this.indexOf(id);
    if (i < 0) return null;
    const [gone] = this.messages.splice(i, 1);
    this.ids.delete(id);
    if (this.newSince === id) this.newSince = this.messages[i]?.id ?? null;
    return gone;
  }

  /**
   * `reaction` {id, emoji, nick, added}. Returns the changed message, or
   * null (not loaded, nothing changed, not a reaction).
   */
  applyReaction(data) {
    if (!data || !isId(data.id) || typeof data.emoji !== 'string' || !data.emoji
        || typeof data.nick !== 'string' || !data.nick || typeof data.added !== 'boolean') return null;
    const i = this.indexOf(data.id);
    if (i < 0) return null;
    const old = this.messages[i];
    const reactions = cleanReactions(old.reactions);
    const nicks = reactions[data.emoji] || [];
    const has = nicks.includes(data.nick);
    if (has === data.added) return null;
    if (data.added) reactions[data.emoji] = [...nicks, data.nick];
    else if (nicks.length > 1) reactions[data.emoji] = nicks.filter((n) => n !== data.nick);
    else delete reactions[data.emoji];
    return this._replace(i, { ...old, reactions });
  }

  /**
   * An entry: `edit`, `delete` or `reaction` with its data. Returns null
   * for another event or a delete without an id, else {changed (the
   * message's new object, or null), removed (the deleted message, or
   * null), replies (kept messages quoting a deleted one)}.
   */
  applyEntry(event, data) {
    if (event === 'edit') return { changed: this.applyEdit(data), removed: null, replies: [] };
    if (event === 'reaction') return { changed: this.applyReaction(data), removed: null, replies: [] };
    if (event !== 'delete' || !isId(data?.id)) return null;
    return { changed: null, removed: this.applyDelete(data.id), replies: this.repliesTo(data.id) };
  }

  /** Messages kept here that reply to `id`. */
  repliesTo(id) {
    return this.messages.filter((m) => m.reply_to && m.reply_to.id === id);
  }

  /**
   * After a fresh replay: `replayed` holds the ids the replay brought,
   * `lastBefore` the id of the newest message kept when the stream opened.
   * A kept message after the oldest replayed one, up to `lastBefore`, that
   * the replay did not bring was deleted meanwhile: it goes (its id is not
   * remembered as deleted: this is an inference). Returns the removed ones.
   */
  pruneAbsent(replayed, lastBefore) {
    if (!replayed?.size || !isId(lastBefore)) return [];
    const first = this.messages.findIndex((m) => replayed.has(m.id));
    const last = this.indexOf(lastBefore);
    if (first < 0 || last <= first) return [];
    const removed = [];
    for (let i = last; i > first; i--) {
      const m = this.messages[i];
      if (replayed.has(m.id)) continue;
      this.messages.splice(i, 1);
      this.ids.delete(m.id);
      removed.push(m);
      if (this.newSince === m.id) this.newSince = this.messages[i]?.id ?? null;
    }
    return removed.reverse();
  }
}

/** The room named by an entry's data, if it is a valid name. */
export function entryRoom(data) {
  return data && typeof data === 'object' && isValidRoom(data.room) ? data.room : null;
}

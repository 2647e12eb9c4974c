/**
 * chat-state.js — what the chat view knows, and the rules that change it.
 *
 * Owns: the rooms of the signed-in session (room-log.js: messages oldest
 * first, deduplicated by id, capped (cap-rules.js), changed by the room log's
 * edit / delete / reaction entries; online nicks; the unread count the
 * transport last sent; whether older history exists; the missed-messages
 * notice), who is typing (typing-rules.js), the outbox entries shown as
 * pending and their status texts, and the stream's state (up, down since
 * when, retrying when) with the connection indicator's text; which rooms
 * are direct messages (`dms`: room → the other nick, dm-rules.js) and what
 * the session may do (`session`: {protected, admin}).
 *
 * Messages a stream brings before a room's `ready` are its replay: see
 * room-log.js for what replay and resume mean for kept messages.
 *
 * Pure: no DOM, no transport, no timers. Whoever calls passes `now` (ms
 * since the epoch) where time matters, and renders what changed. chat.js
 * drives it; e2e/unit/chat-state.test.mjs tests it.
 */

import { isValidRoom } from './format.js';
import { dmLabel, dmRooms } from './dm-rules.js';
import { followedRooms } from './left-rooms.js';
import { oldestToDrop } from './cap-rules.js';
import { Room, entryRoom } from './room-log.js';
import { TypingTracker } from './typing-rules.js';

export { Room };

export const MAX_FOLLOW = 50; // rooms per multi-room stream (the server's limit)
export const OFFLINE_AFTER_MS = 3_000; // "Reconnecting…" turns into "Offline" after this
export const MISSED = 'You may have missed messages while disconnected.';

function freshStream() {
  return { up: false, everUp: false, connecting: false, downSince: null, retryAt: 0, error: '', errorDismissed: false };
}

/**
 * Per connection: which rooms had their `ready`, how many messages each
 * replayed and which ids, the newest message id each room had at the start.
 */
function freshConn(rooms = []) {
  const lastBefore = new Map(rooms.map((r) => [r.name, r.messages.at(-1).id]));
  return { readySeen: new Set(), replayCount: new Map(), replayed: new Map(), hadMessages: new Set(lastBefore.keys()), lastBefore };
}

/**
 * The status line of a pending entry. entry.state: 'queued' | 'sending' |
 * 'sent' | 'failed'; a queued entry may wait (`waitReason` 'slow' until
 * `retryAt`).
 */
export function statusText(entry, { streamUp, now }) {
  if (entry.state === 'failed') return `Not sent: ${entry.error}`;
  if (entry.state === 'sending' || entry.state === 'sent') return 'Sending…';
  if (entry.waitReason === 'slow' && entry.retryAt > now) return 'Waiting: sending too fast…';
  if (!streamUp) return 'Pending: will be sent when the connection is back';
  return 'Pending…';
}

export class ChatState {
  /** @param {number} pageSize what the transport replays per room on a fresh start */
  constructor(pageSize) {
    this.pageSize = pageSize;
    this.info = null;
    this.reset();
  }

  /** Forgets everything of the signed-in session (not `info`). */
  reset() {
    this.me = null;
    this.current = null;
    this.rooms = new Map();
    this.listed = []; // names from the last room list
    this.dms = new Map(); // direct-message rooms: room -> the other nick
    this.openedDms = new Map(); // DMs opened this session (kept until a room list has them)
    this.session = { protected: false, admin: false };
    this.left = new Set(); // rooms the reader left (left-rooms.js): not shown, not followed
    this.followKey = ''; // followed names + the current room: a change refollows
    this.pending = []; // outbox entries of this session, in order
    this.stream = freshStream();
    this.conn = freshConn();
    this.typing = new TypingTracker();
    this.transient = '';
  }

  ensureRoom(name) {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(name);
      this.rooms.set(name, room);
    }
    return room;
  }

  get currentRoom() {
    return this.current ? this.ensureRoom(this.current) : null;
  }

  get maxChars() {
    return this.info?.max_text_chars || 4000;
  }

  /** The count a room shows: the room on screen and left rooms show none. */
  unreadOf(room) {
    return room.name === this.current || this.left.has(room.name) ? 0 : room.unread;
  }

  get unreadTotal() {
    let n = 0;
    for (const room of this.rooms.values()) n += this.unreadOf(room);
    return n;
  }

  /* ------------------------------------------------------------ rooms */

  /** A room list from the transport: [{room, online, last_id, dm?}]. */
  setListed(list) {
    this.listed = list.map((r) => r.room).filter(isValidRoom);
    this.dms = dmRooms(list);
    for (const [room, nick] of this.openedDms) {
      if (this.dms.has(room)) {
        this.openedDms.delete(room);
      } else {
        this.dms.set(room, nick);
        if (!this.listed.includes(room)) this.listed.push(room);
      }
    }
    for (const r of list) {
      if (isValidRoom(r.room)) this.ensureRoom(r.room).apiOnline = Number(r.online) || 0;
    }
  }

  /** A DM room just opened (`openDm`): listed and labelled before the next room list says so. */
  addDm(room, nick) {
    if (!isValidRoom(room)) return;
    this.openedDms.set(room, nick);
    this.dms.set(room, nick);
    if (!this.listed.includes(room)) this.listed.push(room);
  }

  /** What the UI calls a room: the other nick for a DM, else its name. */
  label(name) {
    return dmLabel(name, this.dms);
  }

  /** A room as a sentence names it: "@bo" for a DM, else "#general". */
  tag(name) {
    return this.dms.has(name) ? `@${this.dms.get(name)}` : `#${name}`;
  }

  /** Names for the room list: the listed ones not left plus the current one, sorted. */
  shownRooms() {
    return followedRooms(this.listed, this.left, this.current);
  }

  /** The rooms to follow: the current one first, then shown ones up to MAX_FOLLOW; sorted. */
  followSet() {
    const names = [];
    if (this.current) names.push(this.current);
    for (const name of this.shownRooms()) {
      if (names.length >= MAX_FOLLOW) break;
      if (name !== this.current) names.push(name);
    }
    return names.sort();
  }

  /**
   * The rooms to follow if they differ from what is followed (the user is
   * present in the current room only, so a room switch counts), else null.
   */
  takeFollowChange() {
    const want = this.followSet();
    const key = `${want.join(',')}|${this.current ?? ''}`;
    if (!want.length || key === this.followKey) return null;
    this.followKey = key;
    return want;
  }

  /** Presence: a full list (`presence`) or one nick joining or leaving. */
  presence(event, data) {
    if (!isValidRoom(data.room)) return null;
    const room = this.ensureRoom(data.room);
    if (event === 'presence') {
      room.online = new Set(Array.isArray(data.online) ? data.online.map(String) : []);
    } else {
      if (typeof data.nick !== 'string') return null;
      const online = new Set(room.online || []);
      if (event === 'join') online.add(data.nick);
      else online.delete(data.nick);
      if (event === 'leave') this.typing.stopped(room.name, data.nick);
      room.online = online;
    }
    return room;
  }

  setUnread(data) {
    if (!isValidRoom(data.room)) return null;
    const room = this.ensureRoom(data.room);
    room.unread = Math.max(0, Number(data.count) || 0);
    room.mentions = Math.max(0, Number(data.mentions) || 0);
    return room;
  }

  /* --------------------------------------------------------- messages */

  /**
   * A stored message: from the stream (`stream`: true), or the server's
   * answer to a post. Returns null if it is not one, else {room, fresh (not
   * shown before), updated (a known message replayed in a newer state: the
   * kept copy now, else null), pending (the entry it replaces, now
   * removed, or null)}. A message deleted this session stays deleted.
   */
  addMessage(msg, { stream = false } = {}) {
    if (!msg || typeof msg.id !== 'string' || !isValidRoom(msg.room)) return null;
    const room = this.ensureRoom(msg.room);
    const conn = this.conn;
    const replay = stream && !conn.readySeen.has(room.name);
    if (!conn.readySeen.has(room.name)) {
      conn.replayCount.set(room.name, (conn.replayCount.get(room.name) || 0) + 1);
    }
    if (replay) {
      if (!conn.replayed.has(room.name)) conn.replayed.set(room.name, new Set());
      conn.replayed.get(room.name).add(msg.id);
    }
    if (typeof msg.nick === 'string') this.typing.stopped(room.name, msg.nick);
    // Our own post coming back: it replaces its pending entry.
    let pending = null;
    if (msg.nick === this.me && msg.client_id) {
      pending = this.pending.find((p) => p.clientId === msg.client_id && p.room === room.name) || null;
      if (pending) this.removePending(pending.clientId);
    }
    const fresh = room.add(msg);
    const updated = !fresh && replay ? room.refresh(msg) : null;
    return { room, fresh, updated, pending };
  }

  /** A room log entry (`edit`, `delete`, `reaction`): null, or {room, pending (dropped), …Room.applyEntry's}. */
  applyEntry(event, data) {
    const room = entryRoom(data) && this.ensureRoom(data.room);
    const result = room?.applyEntry(event, data);
    if (!result) return null;
    const gone = event === 'delete' && this.pending.find((p) => p.messageId === data.id);
    if (gone) this.removePending(gone.clientId); // sent, then deleted before the stream showed it
    return { room, ...result, pending: gone || null };
  }

  /** A `typing` event {room, nick} at `now`; returns the room if its line may have changed. */
  typed(data, now) {
    const name = entryRoom(data);
    return name && this.typing.typed(data, now, this.me) ? this.ensureRoom(name) : null;
  }

  /** The typing line of the room on screen at `now`. */
  typingText(now) {
    return this.current ? this.typing.text(this.current, now) : '';
  }

  /**
   * Drops a room's oldest messages over the cap (cap-rules.js): a room off
   * screen at once; the room on screen only while the reader is at the
   * bottom (`atBottom`), never while older history is loading into it.
   * Returns how many of its oldest messages were dropped.
   */
  trim(room, { atBottom = false } = {}) {
    const n = oldestToDrop(room.messages.length, {
      onScreen: room.name === this.current, atBottom, loading: room.loadingOlder,
    });
    return n ? room.trim(room.messages.length - n) : 0;
  }

  /** A page of older history (oldest first); returns the new messages. */
  addOlder(room, older) {
    const fresh = room.prepend(older);
    if (older.length < this.pageSize) room.hasOlder = false;
    return fresh;
  }

  /**
   * `ready` {room, resumed}: the room's replay is complete. Not resumed
   * means a fresh start: fewer than a page replayed is all the room has,
   * a room that had messages before the drop may have missed some, and
   * kept messages the replay skipped were deleted meanwhile.
   * Returns {room, removed (those deleted messages)}, or null if the name
   * is not valid.
   */
  ready(data) {
    if (!isValidRoom(data.room)) return null;
    const room = this.ensureRoom(data.room);
    const conn = this.conn;
    conn.readySeen.add(room.name);
    let removed = [];
    if (!data.resumed) {
      if (room.primed && conn.hadMessages.has(room.name)) room.notice = MISSED;
      if ((conn.replayCount.get(room.name) || 0) < this.pageSize) room.hasOlder = false;
      removed = room.pruneAbsent(conn.replayed.get(room.name), conn.lastBefore.get(room.name));
    }
    conn.replayed.delete(room.name);
    room.primed = true;
    return { room, removed };
  }

  /* ----------------------------------------------------------- stream */

  streamConnecting() {
    if (this.stream.retryAt === null) this.stream.retryAt = 0; // trying again after a final 'down'
    this.stream.connecting = true;
  }

  /** The stream is up; returns whether it is the first time this session. */
  streamOpen() {
    const s = this.stream;
    const first = !s.everUp;
    if (s.retryAt === null) s.retryAt = 0;
    Object.assign(s, { up: true, everUp: true, connecting: false, downSince: null, error: '' });
    this.conn = freshConn([...this.rooms.values()].filter((r) => r.messages.length));
    return first;
  }

  /** detail: {retryInMs, message, final?}; `final`: not retrying by itself. */
  streamDown(detail, now) {
    const s = this.stream;
    s.up = false;
    s.connecting = false;
    if (s.downSince === null) s.downSince = now;
    s.retryAt = detail.final ? null : now + (detail.retryInMs || 0);
    s.error = detail.message || '';
    s.errorDismissed = false;
  }

  /** [data-state, text] of the connection indicator. */
  connectionView(now, online = true) {
    const s = this.stream;
    if (!this.me) return ['offline', 'Signed out'];
    if (!online) return ['offline', 'Offline: no network'];
    if (s.up) return ['connected', 'Connected'];
    if (s.retryAt === null) return ['offline', 'Offline']; // not retrying: the notice says why
    if (s.downSince === null) return ['reconnecting', 'Connecting…'];
    if (now - s.downSince < OFFLINE_AFTER_MS) return ['reconnecting', 'Reconnecting…'];
    const wait = Math.ceil((s.retryAt - now) / 1000);
    if (s.connecting || wait <= 0) return ['offline', 'Offline: reconnecting…'];
    return ['offline', `Offline: retrying in ${wait} s`];
  }

  /** The notice bar's lines, most lasting first. */
  noticeLines(now) {
    const lines = [];
    const room = this.currentRoom;
    if (room?.notice) lines.push(room.notice);
    const s = this.stream;
    if (this.me && s.retryAt === null && s.error && !s.errorDismissed) lines.push(s.error); // not retrying: why
    let slowUntil = 0;
    for (const p of this.pending) {
      if (p.state === 'queued' && p.waitReason === 'slow') slowUntil = Math.max(slowUntil, p.retryAt || 0);
    }
    const slowLeft = Math.ceil((slowUntil - now) / 1000);
    if (slowLeft > 0) lines.push(`Slow down: retrying in ${slowLeft} s`);
    if (this.transient) lines.push(this.transient);
    return lines;
  }

  /** The notice bar's Dismiss: the room's notice, the transient line, the stream error. */
  dismissNotice() {
    const room = this.currentRoom;
    if (room) room.notice = '';
    this.transient = '';
    this.stream.errorDismissed = true;
  }

  /* ---------------------------------------------------------- pending */

  /**
   * Shows an outbox entry {clientId, room, text, createdAt, replyTo?, state, error,
   * waitReason?, retryAt?} unless it is shown already or the stream
   * delivered it first. Returns the entry kept, or null.
   */
  addPending(queued) {
    if (!queued || !isValidRoom(queued.room)) return null;
    if (this.pending.some((p) => p.clientId === queued.clientId)) return null;
    const room = this.ensureRoom(queued.room);
    if (room.messages.some((m) => m.client_id === queued.clientId)) return null;
    const entry = {
      clientId: queued.clientId,
      nick: this.me,
      room: queued.room,
      text: queued.text,
      createdAt: queued.createdAt,
      replyTo: typeof queued.replyTo === 'string' ? queued.replyTo : null,
      files: Array.isArray(queued.files) && queued.files.length ? queued.files : null,
      state: queued.state || 'queued',
      error: queued.error || '',
      messageId: queued.messageId || null,
      waitReason: queued.waitReason || null,
      retryAt: queued.retryAt || 0,
    };
    this.pending.push(entry);
    return entry;
  }

  findPending(clientId) {
    return this.pending.find((p) => p.clientId === clientId) || null;
  }

  removePending(clientId) {
    const entry = this.findPending(clientId);
    if (entry) this.pending = this.pending.filter((p) => p !== entry);
    return entry;
  }

  /**
   * An outbox update {clientId, state, messageId?, error?, waitReason?,
   * retryAt?}. Returns {entry, removed}: `removed` when it was sent and the
   * stream has shown the message already; null for an entry not shown.
   */
  applyOutbox(update) {
    const entry = this.findPending(update.clientId);
    if (!entry) return null;
    const room = this.rooms.get(entry.room);
    if (update.state === 'sent' && update.messageId
        && (room?.ids.has(update.messageId) || room?.deleted.has(update.messageId))) {
      this.removePending(entry.clientId);
      return { entry, removed: true };
    }
    entry.state = update.state || entry.state;
    entry.waitReason = update.waitReason || null;
    entry.retryAt = update.retryAt || 0;
    if (update.messageId) entry.messageId = update.messageId;
    if (Array.isArray(update.files) && entry.files) entry.files = update.files;
    entry.error = update.state === 'failed' ? (update.error || 'the server refused it') : '';
    return { entry, removed: false };
  }

  /**
   * The entry with its `statusText` and `reply` set, for the message view.
   * `reply`: the message it answers as loaded; once that is dropped by the
   * cap, the copy seen before (the entry still shows its quote); null once
   * it is deleted.
   */
  withStatusText(entry, now) {
    entry.statusText = statusText(entry, { streamUp: this.stream.up, now });
    entry.reply = this.replyOf(entry);
    return entry;
  }

  /** The message a pending entry answers (see `withStatusText`), or null. */
  replyOf(entry) {
    if (!entry.replyTo) return null;
    const room = this.ensureRoom(entry.room);
    if (room.deleted.has(entry.replyTo)) return null;
    return room.get(entry.replyTo) || (entry.reply?.id === entry.replyTo ? entry.reply : null);
  }
}

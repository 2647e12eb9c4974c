/**
 * transport-tauri.js — the desktop app's transport: the interface of
 * transport.js as a thin adapter over the commands of src-tauri (see its
 * README for every command and event).
 *
 * Owns: the chat view's side of the Rust core. The webview never fetches
 * anything: Rust signs in, follows the streams, counts unread messages,
 * keeps the outbox on disk and relays history, room lists and posts. This
 * file only maps names (room names of the bound server <-> saved room ids)
 * and shapes (Rust's snake_case events -> the interface's handlers); it
 * never makes up a protocol event.
 *
 * The transport is BOUND (`bind(roomView)`, by the desktop glue in app.js)
 * to one connection: the server and nick of the room opened, as Rust groups
 * rooms (`connection_key`). `follow()` opens the chat view's Channel
 * (`open_view`): Rust sends each followed room's newest messages, the last
 * `ready` its server sent, then live events; a later `follow()` changes the
 * rooms on the same Channel (`set_view_rooms`): rooms new to the view get
 * their catch-up, the others a `ready` from Rust. Connection events become
 * `onState`: connecting -> 'connecting', connected -> 'open',
 * reconnecting -> 'down' with the retry delay, offline -> 'down' with
 * `final: true`, or `onAuthError` when its kind is `unauthorized` (the
 * session ended).
 *
 * The room log (PROTOCOL v1.1): editMessage, deleteMessage, setReaction and
 * typing call edit_message, delete_message, set_reaction and send_typing;
 * a reply is `outbox.enqueue(room, text, {replyTo})` -> post_message with
 * `replyTo` (kept in Rust's outbox entry, so retries stay idempotent). The
 * stream's edit/delete/reaction/typing events are passed on as they come,
 * and Rust's catch-up already shows messages in their current state.
 * `unread` carries `mentions` (Rust counts both).
 *
 * Search (PROTOCOL v1.1 "search"): `search` and `historyAfter` call
 * search_messages and room_history_after, relayed by Rust with the bound
 * connection's session.
 *
 * People (PROTOCOL v1.1 "nicks", "dm", bans): Rust signs every nick in
 * with a nick password it keeps in the keychain, so `whoAmI` (who_am_i)
 * and `signIn` (sign_in_again, `{nickPassword}` when the person typed
 * theirs) answer `protected` and `admin`; `nickPassword()` is the kept one
 * (nick_password), shown so the person can sign in elsewhere. `openDm`
 * (open_dm) saves the DM room on the bound connection, so opening it needs
 * no join; a DM room of the listing (`dm`) that is not saved yet (someone
 * else started it) is saved the same way, so Rust follows it and counts
 * its messages as mentions. `ban`, `unban`, `bans` call ban_nick, unban_nick, list_bans. Rust's
 * `ended` event (the server ended the session: the stream's last event,
 * or a reconnect refused 403 "banned"), and any command refused 403
 * "banned", reach the view once as an `ended` event, and following stops
 * (Rust does not reconnect with that session).
 *
 * Files (PROTOCOL v1.1 "files"): `outbox.enqueue(room, text, {files})`
 * hands each attached Blob's bytes to Rust once (`stage_file`, a raw IPC
 * body; Rust keeps them in its spool) and names dropped files by path;
 * `post_message` keeps them with the entry, so a queued message with
 * files survives an app restart; Rust uploads them and posts once. Its
 * `sending` events carry each file's progress. `fileUrl` is a
 * `hearthfile:` URL Rust answers with the session (the webview loads
 * nothing from the server); `download` saves into the Downloads folder
 * (`save_file`); `showInFolder` -> `show_in_folder`; `onDroppedFiles`
 * listens on Rust's drop Channel (`watch_drops`: Tauri's drag-drop paths;
 * HTML5 drop events do not fire in the app).
 */

import { banFromError } from './ban-rules.js';
import { DesktopCore, parseEvent } from './desktop-core.js';
import { KINDS, TransportError } from './transport-error.js';

export { commandError, serverLabel } from './desktop-core.js';

const LIST_TIMEOUT_MS = 5_000; // a room list that takes longer is not waited for

function withTimeout(promise, ms, message) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(TransportError.ofKind(KINDS.network, message)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** What onState gets for a connection event. */
function streamState(connection) {
  switch (connection?.state) {
    case 'connected':
      return ['open', {}];
    case 'reconnecting':
      return ['down', {
        retryInMs: Number(connection.retry_in_ms) || 0,
        message: connection.reason || 'The connection was lost.',
      }];
    case 'offline':
      return ['down', { retryInMs: null, final: true, message: connection.reason || 'Offline.' }];
    default:
      return ['connecting', {}];
  }
}

/** An entry's files as the interface has them: Rust's `files` of an entry or of a `sending` event. */
function entryFiles(files) {
  return (Array.isArray(files) ? files : []).map((f) => {
    const size = Number(f.size) || 0;
    const fileId = f.file_id ? String(f.file_id) : null;
    const sent = f.sent !== undefined ? Number(f.sent) || 0 : (fileId ? size : 0);
    return { name: String(f.name ?? ''), size, type: String(f.type ?? ''), sent, ...(fileId ? { fileId } : {}) };
  });
}

/** The scheme Rust serves images on (src-tauri/src/files). */
const FILE_SCHEME = 'hearthfile';

/** An outbox entry of Rust (`OutboxEntry`) as the interface's entry. */
function outboxEntry(entry, room, last) {
  const failed = entry.failed || (last?.state === 'failed' ? last.error || 'the server refused it' : '');
  let state = failed ? 'failed' : 'queued';
  if (last?.state === 'sent') state = 'sent';
  else if (last?.state === 'sending' && !failed) state = 'sending';
  return {
    clientId: String(entry.client_id),
    room,
    text: String(entry.text ?? ''),
    ...(entry.reply_to ? { replyTo: String(entry.reply_to) } : {}),
    ...(Array.isArray(entry.files) && entry.files.length ? { files: last?.files || entryFiles(entry.files) } : {}),
    createdAt: Number(entry.queued_at_ms) || Date.now(),
    state,
    error: failed,
    messageId: last?.messageId || null,
  };
}

class TauriTransport {
  constructor(core) {
    this.kind = 'tauri';
    this.desktop = core; // the home screen uses it too (desktop.js)
    this.bound = null; // {key, server, nick, hosted}
    this.view = null; // while following: {handlers, stateKey}
    this.active = undefined; // the room id set_active_room was last given
    this.calls = Promise.resolve(); // view and active-room commands, in order
    this.sendChain = Promise.resolve();
    this.infos = new Map(); // connection key -> info
    this.outboxSeen = new Map(); // client_id -> last update (enqueue may resolve after it)
    this.drops = null; // {handlers: Set, started: Promise} once someone listens for dropped files
    this.dms = new Map(); // room name -> the other nick, from the bound server's listing
    this.dmsSaving = new Set(); // DM rooms of the listing open_dm was asked to save
    core.bannedListeners.add((err) => this._ended(this.view, banFromError(err)));
    this.outbox = {
      enqueue: (room, text, options) => this._enqueue(room, text, options),
      pending: () => this._pending(),
      discard: (clientId) => this._discard(clientId),
    };
  }

  /** Rust's page size (hearth_proto's replay size). */
  get pageSize() {
    return this.desktop.pageSize;
  }

  /* ------------------------------------------- binding (desktop glue) */

  /** Binds the transport to the connection of `room` (a RoomView). */
  bind(room) {
    this.desktop.know(room);
    if (this.bound?.key !== room.connection_key) {
      this.close();
      this.dms.clear();
      this.dmsSaving.clear();
    }
    this.bound = { key: room.connection_key, server: room.server, nick: room.nick, hosted: Boolean(room.hosted) };
  }

  /** Whether a saved room id belongs to the bound connection. */
  isBound(id) {
    const room = this.desktop.room(id);
    return Boolean(room && this.bound && room.connection_key === this.bound.key);
  }

  /** The saved rooms of the bound connection. */
  boundRooms() {
    if (!this.bound) return [];
    return [...this.desktop.rooms.values()].filter((r) => r.connection_key === this.bound.key);
  }

  _idOf(name) {
    return this.boundRooms().find((r) => r.room === name)?.id || null;
  }

  _need() {
    if (!this.bound) throw TransportError.ofKind(KINDS.invalid, 'Open a room from the home screen first.');
    return this.bound;
  }

  _needId(name) {
    const id = this._idOf(name);
    if (!id) throw TransportError.ofKind(KINDS.not_found, `#${name} is not one of your saved rooms.`);
    return id;
  }

  /** Runs a command after the ones queued before it. */
  _call(command, args, onError = () => {}) {
    this.calls = this.calls.then(() => this.desktop.invoke(command, args)).catch(onError);
  }

  /* -------------------------------------------------- the interface */

  async info() {
    const { key } = this._need();
    const cached = this.infos.get(key);
    if (cached) return cached;
    const roomId = (this.boundRooms().find((r) => r.id === this.active) || this.boundRooms()[0])?.id;
    if (!roomId) throw TransportError.ofKind(KINDS.not_found, 'That room is not in your saved rooms any more.');
    const info = await this.desktop.invoke('room_info', { roomId });
    if (!info || typeof info !== 'object') {
      throw TransportError.ofKind(KINDS.server, 'The server sent an unreadable answer.');
    }
    this.infos.set(key, info);
    return info;
  }

  /** The saved room of the bound connection whose session Rust relays with (the one on screen if it can). */
  _anyId() {
    const rooms = this.boundRooms();
    const id = (rooms.find((r) => r.id === this.active) || rooms[0])?.id;
    if (!id) throw TransportError.ofKind(KINDS.not_found, 'That room is not in your saved rooms any more.');
    return id;
  }

  /** Who the bound session is ({nick, expires_at, protected, admin}); a banned session rejects. */
  async whoAmI() {
    if (!this.bound) return null;
    const fallback = { nick: this.bound.nick, expires_at: null, protected: false, admin: false };
    let who;
    try {
      who = await this.desktop.invoke('who_am_i', { roomId: this._anyId() });
    } catch (err) {
      if (err.reason === 'banned') throw err;
      return fallback; // unreachable for now: the nick is known all the same
    }
    return {
      nick: String(who?.nick ?? this.bound.nick),
      expires_at: who?.expires_at ?? null,
      protected: Boolean(who?.protected),
      admin: Boolean(who?.admin),
    };
  }

  /**
   * Signs the bound connection in again (its session ended, or a password
   * changed); `nickPassword`: the nick's password the person typed (else
   * Rust uses the one it keeps).
   */
  async signIn(nick, password, { nickPassword = '' } = {}) {
    const bound = this._need();
    if (String(nick ?? '').trim() !== bound.nick) {
      throw TransportError.ofKind(KINDS.invalid,
        `These rooms are joined as ${bound.nick}: to use another nick, join from the home screen.`);
    }
    const roomId = this.boundRooms()[0]?.id;
    if (!roomId) throw TransportError.ofKind(KINDS.not_found, 'That room is not in your saved rooms any more.');
    const args = { roomId, password: password || null };
    if (nickPassword) args.nickPassword = String(nickPassword);
    const session = await this.desktop.invoke('sign_in_again', args);
    return {
      nick: String(session?.nick ?? bound.nick),
      expires_at: session?.expires_at ?? null,
      protected: Boolean(session?.protected),
      admin: Boolean(session?.admin),
    };
  }

  /** The nick password the app keeps for the bound server and nick (to sign in elsewhere), or null. */
  async nickPassword() {
    this._need();
    const kept = await this.desktop.invoke('nick_password', { roomId: this._anyId() });
    return typeof kept === 'string' && kept ? kept : null;
  }

  /* ----------------------------------- people (PROTOCOL v1.1 "dm", bans) */

  /** The DM room of the reader and `nick` ({room, nick}); Rust saves it on the bound connection. */
  async openDm(nick) {
    this._need();
    const dm = await this.desktop.invoke('open_dm', { roomId: this._anyId(), nick: String(nick ?? '') });
    await this.desktop.refreshSaved().catch(() => {});
    if (dm && typeof dm.room === 'string') {
      this.dms.set(dm.room, String(dm.nick ?? nick));
      if (!this._idOf(dm.room) && dm.room_id) {
        // The listing failed: the answer says enough to open it.
        const bound = this.bound;
        this.desktop.know({
          id: dm.room_id, room: dm.room, dm: String(dm.nick ?? nick), nick: bound.nick,
          server: bound.server, hosted: bound.hosted, connection_key: bound.key,
        });
      }
    }
    return { room: String(dm?.room ?? ''), nick: String(dm?.nick ?? nick) };
  }

  /** Bans `nick` for `minutes` (admins): {nick, until, by, reason?}. */
  async ban(nick, minutes, reason = '') {
    this._need();
    const args = { roomId: this._anyId(), nick: String(nick ?? ''), minutes: Number(minutes) };
    if (reason) args.reason = String(reason);
    return this.desktop.invoke('ban_nick', args);
  }

  /** Lifts the ban of `nick` (admins). */
  async unban(nick) {
    this._need();
    await this.desktop.invoke('unban_nick', { roomId: this._anyId(), nick: String(nick ?? '') });
  }

  /** The bans in force (admins). */
  async bans() {
    this._need();
    const list = await this.desktop.invoke('list_bans', { roomId: this._anyId() });
    return Array.isArray(list) ? list : [];
  }

  async signOut() {
    // Sessions belong to saved rooms: forgetting a room (home screen) ends one.
  }

  /**
   * The rooms of the bound server: its listing plus the saved rooms (which
   * are listed even when the server cannot be reached: while the
   * connection is not up the server is not asked). On the server this app
   * hosts, only the saved rooms (see openRoom).
   */
  async rooms() {
    this._need();
    const saved = this.boundRooms();
    const byName = new Map();
    const anyId = (saved.find((r) => r.id === this.active) || saved[0])?.id;
    if (anyId && this.desktop.liveOf(anyId).connection.state === 'connected') {
      try {
        const list = await withTimeout(this.desktop.invoke('list_rooms', { roomId: anyId }),
          LIST_TIMEOUT_MS, 'The room list did not come in time.');
        for (const r of Array.isArray(list) ? list : []) {
          if (r && typeof r.room === 'string') byName.set(r.room, r);
          if (r && typeof r.dm === 'string' && r.dm) this.dms.set(r.room, r.dm);
        }
        this.lastListed = { key: this.bound?.key, rooms: [...byName.values()] };
        // A DM someone else started: saved (open_dm, once per room), so
        // Rust follows it and counts its messages, as the web client does.
        for (const [name, nick] of [...this.dms]) {
          if (this._idOf(name) || this.dmsSaving.has(name)) continue;
          this.dmsSaving.add(name);
          await this.openDm(nick).catch(() => {});
        }
      } catch (err) {
        if (err.kind === KINDS.unauthorized || err.reason === 'banned') throw err; // the session is over
        // unreachable now: the saved rooms are listed all the same
      }
    }
    if (!byName.size && this.lastListed?.key === this.bound?.key) {
      // Offline (or the list failed): the last list, so no room drops out of the sidebar.
      for (const r of this.lastListed.rooms) byName.set(r.room, r);
    }
    if (this.bound.hosted) {
      // The session's own DM rooms open too (through open_dm).
      const names = new Set(saved.map((r) => r.room));
      for (const [name, r] of [...byName]) if (!names.has(name) && !r.dm) byName.delete(name);
    }
    for (const r of saved) {
      if (!byName.has(r.room)) {
        const live = this.desktop.live.get(r.id);
        const item = { room: r.room, online: live?.presence ? live.presence.size : 0, last_id: null };
        if (typeof r.dm === 'string' && r.dm) item.dm = r.dm;
        byName.set(r.room, item);
      }
    }
    return [...byName.values()].sort((a, b) => (a.room < b.room ? -1 : a.room > b.room ? 1 : 0));
  }

  async history(room, beforeId, limit = this.pageSize) {
    const args = { roomId: this._needId(room) };
    if (limit) args.limit = limit;
    if (beforeId) args.before = beforeId;
    return this.desktop.invoke('room_history', args);
  }

  /** Up to `limit` messages after `afterId`, oldest first (Rust relays the history page). */
  async historyAfter(room, afterId, limit = this.pageSize) {
    return this.desktop.invoke('room_history_after', { roomId: this._needId(room), after: afterId, limit });
  }

  /**
   * Search (PROTOCOL v1.1): Rust asks the bound server with the session of
   * one of its saved rooms (the one on screen if it can); `rooms` are names.
   */
  async search(q, { rooms = null, before = null, limit = null } = {}) {
    this._need();
    const roomId = (this.boundRooms().find((r) => r.id === this.active) || this.boundRooms()[0])?.id;
    if (!roomId) throw TransportError.ofKind(KINDS.not_found, 'That room is not in your saved rooms any more.');
    const args = { roomId, q };
    if (rooms?.length) args.rooms = rooms;
    if (before) args.before = before;
    if (limit) args.limit = limit;
    return this.desktop.invoke('search_messages', args);
  }

  /** One direct post (Rust relays one POST). */
  async post(room, text, clientId) {
    return this.desktop.invoke('post_once', { roomId: this._needId(room), text, clientId });
  }

  /* ------------------------- the room log's writes (PROTOCOL v1.1) */

  /** The author changes a message's text; resolves to the edited message. */
  async editMessage(room, id, text) {
    return this.desktop.invoke('edit_message', { roomId: this._needId(room), messageId: String(id), text });
  }

  /** The author (or an admin) deletes a message; the stream's `delete` removes it everywhere. */
  async deleteMessage(room, id) {
    await this.desktop.invoke('delete_message', { roomId: this._needId(room), messageId: String(id) });
  }

  /** Adds (`on`) or removes the reader's reaction `emoji`. */
  async setReaction(room, id, emoji, on) {
    await this.desktop.invoke('set_reaction', {
      roomId: this._needId(room), messageId: String(id), emoji: String(emoji), on: Boolean(on),
    });
  }

  /** "I am typing" (the core throttles it and ignores a failure). */
  async typing(room) {
    await this.desktop.invoke('send_typing', { roomId: this._needId(room) });
  }

  /** Mutes (or unmutes) a room's notifications (an app setting Rust honours). */
  async setRoomMuted(room, muted) {
    await this.desktop.invoke('set_room_muted', { roomId: this._needId(room), muted: Boolean(muted) });
  }

  /** Makes sure `name` is a saved room of the bound server (joins it if not). */
  async openRoom(name) {
    const bound = this._need();
    if (this._idOf(name)) return null;
    if (this.dms.has(name)) {
      await this.openDm(this.dms.get(name)); // saved by Rust as the DM it is
      if (this._idOf(name)) return null;
    }
    if (bound.hosted) {
      throw TransportError.ofKind(KINDS.invalid, 'On the server you host, the app can open only the room you share for now.');
    }
    const joined = await this.desktop.invoke('join_room', { address: bound.server, nick: bound.nick, room: name });
    await this.desktop.refreshSaved().catch(() => {});
    this.desktop.know(joined); // the listing failed: the answer says enough
    return joined?.warning || null;
  }

  /** The room on screen (null: none), for Rust's unread counts. */
  setActive(room) {
    const id = room ? this._idOf(room) : null;
    if (this.active === id) return;
    this.active = id;
    this._call('set_active_room', { roomId: id });
  }

  follow(rooms, handlers, present = null) {
    if (!this.bound) return;
    const ids = [...new Set((rooms || []).map((name) => this._idOf(name)).filter(Boolean))];
    if (present && present.length) this.setActive(present[0]);
    const failed = (view) => (err) => {
      this._emit(view, 'onState', 'down', { retryInMs: null, final: true, message: err.message });
    };
    if (this.view) {
      this.view.handlers = handlers;
      this._call('set_view_rooms', { roomIds: ids }, failed(this.view));
      return;
    }
    const view = { handlers, stateKey: '' };
    const channel = new this.desktop.tauri.core.Channel();
    channel.onmessage = (message) => this._onViewEvent(view, message);
    this.view = view;
    this._call('open_view', { roomIds: ids, onEvent: channel }, failed(view));
  }

  /** "Retry now": the bound connection reconnects at once (Rust's `retry_now`). */
  reconnect() {
    const rooms = this.boundRooms();
    const room = (rooms.find((r) => r.id === this.active) || rooms[0])?.room;
    if (room) this.retryNow(room);
  }

  /** "Retry now" on `room` (a name of the bound connection): reconnects at once. */
  retryNow(room) {
    const id = this._idOf(room);
    if (!id) return Promise.resolve();
    return this.desktop.invoke('retry_now', { roomId: id }).catch((err) => console.error('hearth: retry_now failed', err));
  }

  close() {
    if (!this.view) return;
    this.view = null;
    this._call('close_view', {});
  }

  /* ------------------------------------------------------ the view */

  _emit(view, name, ...args) {
    if (this.view !== view) return;
    try {
      view.handlers[name]?.(...args);
    } catch (err) {
      console.error(`hearth: ${name} handler failed`, err);
    }
  }

  _onViewEvent(view, message) {
    if (this.view !== view) return;
    const ev = parseEvent(message);
    if (!ev) return;
    const { data } = ev;
    const name = this.desktop.room(ev.room_id)?.room ?? data.room;
    switch (ev.event) {
      case 'ended':
        this._ended(view, data);
        return;
      case 'connection': {
        if (data.state === 'offline' && data.kind === KINDS.unauthorized) {
          this._emit(view, 'onAuthError', data.reason || 'The server no longer accepts your session.');
          this.close();
          return;
        }
        const [state, detail] = streamState(data);
        const key = `${state}|${data.attempt ?? ''}|${detail.message ?? ''}`;
        if (key === view.stateKey) return; // the same for every room of the connection
        view.stateKey = key;
        this._emit(view, 'onState', state, detail);
        return;
      }
      case 'unread':
        this._emit(view, 'onEvent', {
          event: 'unread',
          data: { room: name, count: Number(data.count) || 0, mentions: Number(data.mentions) || 0 },
          id: '',
        });
        return;
      case 'outbox': {
        const update = {
          clientId: String(data.client_id),
          room: name,
          state: data.state,
          messageId: data.message_id || null,
          error: data.error || '',
        };
        if (data.wait_reason) update.waitReason = data.wait_reason; // 'network' | 'slow'
        if (data.retry_at_ms) update.retryAt = Number(data.retry_at_ms);
        if (Array.isArray(data.files)) update.files = entryFiles(data.files); // 'sending': upload progress
        if (data.message && typeof data.message.id === 'string') update.message = data.message;
        this._seen(update);
        this._emit(view, 'onOutbox', update);
        return;
      }
      default:
        this._emit(view, 'onEvent', { event: ev.event, data, id: '' });
    }
  }

  /**
   * The server ended the session (Rust's `ended` event, once per room of
   * the connection, or a command refused 403 "banned"): the view hears it
   * once, as `ended` {reason, error, until?}, and stops following.
   */
  _ended(view, data) {
    if (!view || this.view !== view || !data) return;
    const handlers = view.handlers;
    this.close();
    const ended = { reason: String(data.reason ?? ''), error: String(data.error ?? '') };
    if (data.until) ended.until = String(data.until);
    try {
      handlers.onEvent?.({ event: 'ended', data: ended, id: '' });
    } catch (err) {
      console.error('hearth: onEvent handler failed', err);
    }
  }

  /* ----------------------------------------------------- the outbox */

  _seen(update) {
    this.outboxSeen.set(update.clientId, update);
    if (this.outboxSeen.size > 500) this.outboxSeen.delete(this.outboxSeen.keys().next().value);
  }

  /**
   * Queues a message, a reply if `options.replyTo`, sharing `options.files`
   * (resolves once it and its files are on disk).
   */
  _enqueue(room, text, options = {}) {
    const run = async () => {
      const args = { roomId: this._needId(room), text };
      if (options?.replyTo) args.replyTo = String(options.replyTo);
      if (Array.isArray(options?.files) && options.files.length) {
        args.files = [];
        for (const file of options.files) args.files.push(await this._attachment(args.roomId, file));
      }
      const entry = await this.desktop.invoke('post_message', args);
      return outboxEntry(entry, room, this.outboxSeen.get(entry.client_id));
    };
    // One at a time, so messages are queued in the order they were typed.
    const result = this.sendChain.then(run, run);
    this.sendChain = result.catch(() => {});
    return result;
  }

  /** What post_message gets for one attachment: a dropped path, or a Blob staged in Rust's spool. */
  async _attachment(roomId, file) {
    if (file?.kind === 'path') return { path: String(file.path), name: String(file.name ?? '') };
    if (file?.kind !== 'blob' || !file.blob) throw TransportError.ofKind(KINDS.invalid, 'That attachment cannot be sent.');
    const bytes = new Uint8Array(await file.blob.arrayBuffer());
    const type = String(file.type ?? file.blob.type ?? '');
    const staged = await this.desktop.invoke('stage_file', bytes, {
      headers: { 'Hearth-Name': encodeURIComponent(String(file.name ?? '')), 'Hearth-Type': type, 'Hearth-Room': roomId },
    });
    return { staged: staged.staged, name: staged.name, type };
  }

  /** The queued (and failed) messages of the bound connection, oldest first. */
  async _pending() {
    this._need();
    const entries = await this.desktop.invoke('pending_messages', {});
    const out = [];
    for (const e of Array.isArray(entries) ? entries : []) {
      if (this.isBound(e.room_id)) out.push(outboxEntry(e, this.desktop.room(e.room_id).room, this.outboxSeen.get(e.client_id)));
    }
    return out;
  }

  /** Drops a queued or failed message (aborting its upload); false if there was none. */
  async _discard(clientId) {
    return Boolean(await this.desktop.invoke('discard_message', { clientId }));
  }

  /* ------------------------------------------------------- files */

  /** The saved room whose session reaches the bound server's files. */
  _fileRoomId() {
    const rooms = this.boundRooms();
    return (rooms.find((r) => r.id === this.active) || rooms[0])?.id || null;
  }

  /** A `hearthfile:` URL for <img src>: the file, or with `thumb` its thumbnail (when it has one). */
  fileUrl(file, { thumb = false } = {}) {
    const roomId = this._fileRoomId();
    if (!roomId || !file?.id) return '';
    const path = `${roomId}/${file.id}${thumb && file.thumb_url ? '/thumb' : ''}`;
    const convert = this.desktop.tauri.core.convertFileSrc;
    return typeof convert === 'function' ? convert(path, FILE_SCHEME) : `${FILE_SCHEME}://localhost/${encodeURIComponent(path)}`;
  }

  /** Saves a message's file into the Downloads folder; resolves {path}. */
  async download(file) {
    const roomId = this._fileRoomId();
    if (!roomId) throw TransportError.ofKind(KINDS.not_found, 'That room is not in your saved rooms any more.');
    const saved = await this.desktop.invoke('save_file', { roomId, fileId: String(file.id), name: String(file.name ?? '') });
    return { path: String(saved.path) };
  }

  /** Shows a file the app saved in the system's file manager. */
  async showInFolder(path) {
    await this.desktop.invoke('show_in_folder', { path: String(path) });
  }

  /**
   * Files dropped from the file manager on `element` go to
   * `handler([{kind: 'path', path, name, size}])`; `handler.onDragState`
   * hears whether files are dragged over it. Rust forwards Tauri's
   * drag-drop events (one Channel for the page); a drop that held a
   * folder also calls `handler.onError?.(sentence)`.
   */
  onDroppedFiles(element, handler) {
    if (!this.drops) {
      const handlers = new Set();
      const channel = new this.desktop.tauri.core.Channel();
      channel.onmessage = (event) => {
        for (const h of [...handlers]) h(event);
      };
      this.drops = { handlers, started: this.desktop.invoke('watch_drops', { onEvent: channel }).catch((err) => {
        console.error('hearth: dropped files cannot be received', err);
      }) };
    }
    let over = false;
    const state = (on) => {
      if (over === on) return;
      over = on;
      try {
        handler.onDragState?.(on);
      } catch (err) {
        console.error('hearth: onDragState failed', err);
      }
    };
    const inside = (event) => {
      if (!element?.getBoundingClientRect || typeof event.x !== 'number') return true;
      const r = element.getBoundingClientRect();
      return event.x >= r.left && event.x <= r.right && event.y >= r.top && event.y <= r.bottom;
    };
    const listener = (event) => {
      switch (event?.type) {
        case 'enter':
        case 'over':
          state(inside(event));
          return;
        case 'drop': {
          const hit = inside(event);
          state(false);
          if (!hit) return;
          if (event.error) handler.onError?.(String(event.error));
          const files = (Array.isArray(event.files) ? event.files : []).map((f) => ({
            kind: 'path', path: String(f.path), name: String(f.name ?? ''), size: Number(f.size) || 0,
          }));
          if (files.length) handler(files);
          return;
        }
        default:
          state(false);
      }
    };
    this.drops.handlers.add(listener);
    return () => {
      this.drops?.handlers.delete(listener);
      state(false);
    };
  }
}

/** The desktop transport over `tauri` (window.__TAURI__). */
export function createTauriTransport(tauri) {
  return new TauriTransport(new DesktopCore(tauri));
}

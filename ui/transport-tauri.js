/**
 * transport-tauri.js — the desktop app's transport (see transport.js for the
 * interface), over the Tauri commands of src-tauri (see src-tauri/README.md).
 *
 * Owns: every command call of the desktop UI and the one event Channel.
 * The webview never fetches anything: Rust signs in, follows the streams,
 * keeps the outbox on disk and relays history and room lists.
 *
 * Two layers:
 *
 * - `DesktopCore` (one per page, `transport.desktop`): `invoke` (errors
 *   become TransportErrors), the saved rooms, and the ONE Channel given to
 *   `follow_rooms` that carries `{room_id, event, data}` for every saved room.
 *   It keeps what a screen opened later needs: each room's connection
 *   state, unread count and who is online. The home screen (desktop.js)
 *   listens to it too.
 *
 * - the transport object app.js uses, BOUND (`bind(roomView)`) to one
 *   connection: the server and nick of the room the person opened, as Rust
 *   groups them (hosted rooms form one connection per nick). Room names in
 *   the interface are rooms of that server; the transport maps them to
 *   saved room ids. How it adapts the stream interface:
 *     - `follow()` after `close()` starts a "session": it replays the
 *       connection state, presence and unread counts it knows, then each
 *       saved room's newest messages (`room_history`) followed by a
 *       synthetic `ready` — what the server's replay gives the web client.
 *       Live events of a room are held back while its history loads, so
 *       messages stay in order. Later `follow()` calls (room switches)
 *       only mark the room on screen active (`set_active_room`) and load
 *       rooms saved meanwhile.
 *     - connection events become onState: connecting → 'connecting',
 *       connected → 'open', reconnecting → 'down' with the retry delay,
 *       offline → 'down' with `final: true` (Rust has stopped trying).
 *     - a `ready` with `resumed: false` is passed on as such only after
 *       the connection dropped; one that follows a restart Rust made itself
 *       (a room was joined) is not a loss, so it is passed on as resumed.
 *     - extra capabilities (flags on the object, absent in the web
 *       transport):
 *         durableOutbox: Rust keeps the outbox on disk and sends it:
 *           enqueue(room, text) -> entry, pending() -> [entry],
 *           discard(clientId) -> bool, and handlers.onOutbox(update)
 *           with {clientId, room, state: 'queued'|'sent'|'failed',
 *           messageId?, error?}. entry = {clientId, room, text, createdAt,
 *           failed (text or ''), sent (bool)}.
 *         unreadCounts: Rust counts unread messages; the transport sends
 *           `unread` events {room, count} and app.js does not count.
 *         prepareRoom(name): joins a room of the bound server that is not
 *           saved yet (sharing the connection's session), before opening it.
 */

import { TransportError } from './transport-error.js';

const HISTORY_PAGE = 50; // what a session starts with per room, like the server's replay
const LIST_TIMEOUT_MS = 5_000; // a room list that takes longer is not waited for

function withTimeout(promise, ms, message) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new TransportError(0, message)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * A command's rejection as a TransportError. Rust rejects with
 * `{kind, message, retryable, status?, retry_after?}` (CommandError in
 * src-tauri/src/error.rs); anything else (Tauri's own errors, a string) is
 * the app's own failure.
 */
export function commandError(err) {
  if (err instanceof TransportError) return err;
  if (err && typeof err === 'object' && typeof err.kind === 'string') {
    const message = String(err.message ?? '').trim() || 'The app could not do that.';
    const extra = { retryAfter: Number.isFinite(err.retry_after) ? err.retry_after : null };
    if (typeof err.retryable === 'boolean') extra.retryable = err.retryable;
    if (Number.isInteger(err.status)) extra.status = err.status;
    return TransportError.ofKind(err.kind, message, extra);
  }
  let message;
  if (typeof err === 'string') message = err;
  else if (err && typeof err.message === 'string') message = err.message;
  else message = String(err ?? '');
  return TransportError.ofKind('local', message.trim() || 'The app could not do that.');
}

/** Rust groups saved rooms into connections: one server (or the hosted one) and one nick. */
export function connectionKey(room) {
  return room.hosted ? `hosted ${room.nick}` : `${room.server} ${room.nick}`;
}

/** "192.168.1.20:8989" from "http://192.168.1.20:8989/". */
export function serverLabel(room) {
  if (room.hosted) return 'hosted by you';
  try {
    return new URL(room.server).host;
  } catch {
    return String(room.server || '');
  }
}

/**
 * The app's side of the one event Channel, the saved rooms and the live
 * state of each room. Listeners get every channel event as it comes
 * ({room_id, event, data}), and {event: 'rooms'} when the saved rooms were
 * read again.
 */
export class DesktopCore {
  constructor(tauri) {
    this.tauri = tauri;
    this.rooms = new Map(); // id -> RoomView
    this.live = new Map(); // id -> {connection, unread, presence: Set|null}
    this.listeners = new Set();
    this.started = null;
    this.ready = false;
    this.ignored = new Set(); // ids of events for rooms that are not saved (forgotten)
    this.refreshTimer = 0;
  }

  /** Calls a command; rejects with a TransportError. */
  invoke(command, args = {}) {
    return Promise.resolve()
      .then(() => this.tauri.core.invoke(command, args))
      .catch((err) => {
        throw commandError(err);
      });
  }

  /** Attaches the Channel (once per page): follow_rooms. Resolves the saved rooms. */
  start() {
    if (!this.started) {
      this.started = (async () => {
        const channel = new this.tauri.core.Channel();
        channel.onmessage = (message) => this._dispatch(message);
        const rooms = await this.invoke('follow_rooms', { onEvent: channel });
        this._setRooms(rooms);
        this.ready = true;
        return this.savedRooms();
      })();
      this.started.catch(() => {
        this.started = null; // a later call may try again
      });
    }
    return this.started;
  }

  /** Reads the saved rooms again (saved_rooms). */
  async refreshSaved() {
    const rooms = await this.invoke('saved_rooms');
    this._setRooms(rooms);
    this.ignored.clear();
    this._notify({ event: 'rooms' });
    return this.savedRooms();
  }

  /** The saved rooms, in saved order, with their latest state. */
  savedRooms() {
    return [...this.rooms.values()].map((room) => {
      const live = this.live.get(room.id);
      return live ? { ...room, connection: live.connection, unread: live.unread } : room;
    });
  }

  room(id) {
    return this.rooms.get(id) || null;
  }

  liveOf(id) {
    let live = this.live.get(id);
    if (!live) {
      live = { connection: { state: 'connecting' }, unread: 0, presence: null };
      this.live.set(id, live);
    }
    return live;
  }

  _setRooms(rooms) {
    const list = Array.isArray(rooms) ? rooms.filter((r) => r && typeof r.id === 'string') : [];
    this.rooms = new Map(list.map((r) => [r.id, r]));
    for (const room of list) {
      if (this.live.has(room.id)) continue; // events are newer than a listing
      const live = this.liveOf(room.id);
      if (room.connection && typeof room.connection.state === 'string') live.connection = room.connection;
      live.unread = Number(room.unread) || 0;
    }
    for (const id of [...this.live.keys()]) {
      if (!this.rooms.has(id)) this.live.delete(id);
    }
  }

  _notify(event) {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        console.error('hearth: a desktop event listener failed', err);
      }
    }
  }

  _dispatch(message) {
    let ev = message;
    if (typeof ev === 'string') {
      try {
        ev = JSON.parse(ev);
      } catch {
        return;
      }
    }
    if (!ev || typeof ev.room_id !== 'string' || typeof ev.event !== 'string') return;
    const data = ev.data && typeof ev.data === 'object' ? ev.data : {};
    const live = this.liveOf(ev.room_id);
    switch (ev.event) {
      case 'connection':
        if (typeof data.state === 'string') live.connection = data;
        break;
      case 'unread':
        live.unread = Math.max(0, Number(data.count) || 0);
        break;
      case 'presence':
        live.presence = new Set(Array.isArray(data.online) ? data.online.map(String) : []);
        break;
      case 'join':
        if (typeof data.nick === 'string') (live.presence ||= new Set()).add(data.nick);
        break;
      case 'leave':
        if (typeof data.nick === 'string') live.presence?.delete(data.nick);
        break;
      default:
        break;
    }
    if (this.ready && !this.rooms.has(ev.room_id) && !this.ignored.has(ev.room_id)) {
      this._scheduleRefresh(ev.room_id);
    }
    this._notify({ room_id: ev.room_id, event: ev.event, data });
  }

  /** An event of a room this page does not know: it was saved meanwhile (or forgotten). */
  _scheduleRefresh(id) {
    this.ignored.add(id); // until the listing says otherwise
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = 0;
      this.refreshSaved().then(
        () => {
          if (this.rooms.has(id)) this.ignored.delete(id);
        },
        () => {},
      );
    }, 300);
  }
}

function outboxEntry(entry, room, last) {
  return {
    clientId: String(entry.client_id),
    room,
    text: String(entry.text ?? ''),
    createdAt: Number(entry.queued_at_ms) || Date.now(),
    failed: entry.failed || (last?.state === 'failed' ? last.error || 'refused' : ''),
    sent: last?.state === 'sent',
  };
}

/** What app.js's onState gets for a connection event. */
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

class TauriTransport {
  constructor(core) {
    this.kind = 'tauri';
    this.durableOutbox = true;
    this.unreadCounts = true;
    this.desktop = core;
    this.bound = null; // {key, server, nick, hosted}
    this.session = null; // while following: see follow()
    this.infos = new Map(); // server -> info
    this.active = undefined; // the room id set_active_room was last given
    this.activeChain = Promise.resolve();
    this.sendChain = Promise.resolve();
    this.outboxSeen = new Map(); // client_id -> last outbox update (enqueue may resolve after it)
    core.listeners.add((ev) => this._onCoreEvent(ev));
  }

  /* ------------------------------------------------- desktop-only API */

  /** Binds the transport to the connection of `room` (a RoomView). */
  bind(room) {
    const key = connectionKey(room);
    if (!this.desktop.rooms.has(room.id)) this.desktop.rooms.set(room.id, room); // the listing lags behind
    if (this.bound?.key !== key) this.close();
    this.bound = { key, server: room.server, nick: room.nick, hosted: Boolean(room.hosted) };
  }

  /** Whether a saved room id belongs to the bound connection. */
  isBound(id) {
    const room = this.desktop.room(id);
    return Boolean(room && this.bound && connectionKey(room) === this.bound.key);
  }

  /** The saved rooms of the bound connection. */
  boundRooms() {
    if (!this.bound) return [];
    return [...this.desktop.rooms.values()].filter((r) => connectionKey(r) === this.bound.key);
  }

  _idOf(name) {
    return this.boundRooms().find((r) => r.room === name)?.id || null;
  }

  _need() {
    if (!this.bound) throw new TransportError(400, 'Open a room from the home screen first.');
    return this.bound;
  }

  _needId(name) {
    const id = this._idOf(name);
    if (!id) throw new TransportError(404, `#${name} is not one of your saved rooms.`);
    return id;
  }

  /** Makes sure `name` is a saved room of the bound server (joins it if not). */
  async prepareRoom(name) {
    const bound = this._need();
    if (this._idOf(name)) return null;
    if (bound.hosted) {
      throw new TransportError(400, 'On the server you host, the app can open only the room you share for now.');
    }
    const joined = await this.desktop.invoke('join_room', { address: bound.server, nick: bound.nick, room: name });
    await this.desktop.refreshSaved().catch(() => {});
    if (!this._idOf(name) && joined && typeof joined.id === 'string') {
      this.desktop.rooms.set(joined.id, joined); // the listing failed: the answer says enough
    }
    return joined?.warning || null;
  }

  /** Queues a message (resolves once it is on disk). */
  enqueue(room, text) {
    const run = async () => {
      const id = this._needId(room);
      const entry = await this.desktop.invoke('post_message', { roomId: id, text });
      return outboxEntry(entry, room, this.outboxSeen.get(entry.client_id));
    };
    // One at a time, so messages are queued in the order they were typed.
    const result = this.sendChain.then(run, run);
    this.sendChain = result.catch(() => {});
    return result;
  }

  /** The queued (and failed) messages of the bound connection, oldest first. */
  async pending() {
    this._need();
    const entries = await this.desktop.invoke('pending_messages', {});
    const out = [];
    for (const e of Array.isArray(entries) ? entries : []) {
      const room = this.isBound(e.room_id) ? this.desktop.room(e.room_id).room : null;
      if (room) out.push(outboxEntry(e, room, this.outboxSeen.get(e.client_id)));
    }
    return out;
  }

  /** Drops a queued or failed message; false if there was none. */
  async discard(clientId) {
    return Boolean(await this.desktop.invoke('discard_message', { clientId }));
  }

  /* -------------------------------------------------- the interface */

  async info() {
    const { server } = this._need();
    const cached = this.infos.get(server);
    if (cached) return cached;
    const probe = await this.desktop.invoke('probe_server', { address: server });
    if (!probe || typeof probe.info !== 'object') throw new TransportError(400, 'The server sent an unreadable answer.');
    this.infos.set(server, probe.info);
    return probe.info;
  }

  async whoAmI() {
    return this.bound ? { nick: this.bound.nick, expires_at: null } : null;
  }

  async signIn() {
    throw new TransportError(400, 'In the desktop app, join a room from the home screen.');
  }

  async signOut() {
    // Sessions belong to saved rooms: forgetting a room (home screen) ends one.
  }

  /**
   * The rooms of the bound server: its listing plus the saved rooms (which
   * are listed even when the server cannot be reached: while the
   * connection is not up the server is not asked). On the server this app
   * hosts, only the saved rooms (see prepareRoom).
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
        }
      } catch {
        // unreachable now: the saved rooms are listed all the same
      }
    }
    if (this.bound.hosted) {
      const names = new Set(saved.map((r) => r.room));
      for (const name of [...byName.keys()]) if (!names.has(name)) byName.delete(name);
    }
    for (const r of saved) {
      if (!byName.has(r.room)) {
        const live = this.desktop.live.get(r.id);
        byName.set(r.room, { room: r.room, online: live?.presence ? live.presence.size : 0, last_id: null });
      }
    }
    return [...byName.values()].sort((a, b) => (a.room < b.room ? -1 : a.room > b.room ? 1 : 0));
  }

  async history(room, beforeId, limit = HISTORY_PAGE) {
    const roomId = this._needId(room);
    const args = { roomId, limit };
    if (beforeId) args.before = beforeId;
    return this.desktop.invoke('room_history', args);
  }

  async post() {
    throw new TransportError(400, 'The desktop app sends messages through its outbox (enqueue).');
  }

  follow(_rooms, _cursor, handlers, present = null) {
    if (!this.bound) return;
    let s = this.session;
    const fresh = !s;
    if (fresh) {
      s = { handlers, rooms: new Map(), stateKey: '' };
      this.session = s;
    } else {
      s.handlers = handlers;
    }
    const current = present && present.length ? this._idOf(present[0]) : null;
    this._setActive(current);
    if (fresh) {
      const ids = this.boundRooms().map((r) => r.id);
      const first = ids.includes(current) ? current : ids[0];
      if (first) this._emitState(s, this.desktop.liveOf(first).connection);
    }
    this._addRooms(s, current);
  }

  reconnect() {
    // Rust reconnects by itself; there is no command to hurry it.
  }

  close() {
    this.session = null;
    this._setActive(null);
  }

  /* -------------------------------------------------------- session */

  _emit(s, name, ...args) {
    if (this.session !== s) return;
    try {
      s.handlers[name]?.(...args);
    } catch (err) {
      console.error(`hearth: ${name} handler failed`, err);
    }
  }

  _emitState(s, connection) {
    const [state, detail] = streamState(connection);
    const key = `${state}|${connection?.attempt ?? ''}|${detail.message ?? ''}`;
    if (key === s.stateKey) return;
    s.stateKey = key;
    this._emit(s, 'onState', state, detail);
  }

  /** Starts following the bound connection's saved rooms that the session does not have yet. */
  _addRooms(s, currentId) {
    const added = [];
    for (const room of this.boundRooms()) {
      if (s.rooms.has(room.id)) continue;
      const r = { id: room.id, name: room.room, loaded: false, loading: false, buffer: [], dropped: false, tries: 0 };
      s.rooms.set(room.id, r);
      added.push(r);
      const live = this.desktop.liveOf(room.id);
      if (live.presence) {
        this._emit(s, 'onEvent', { event: 'presence', data: { room: r.name, online: [...live.presence] }, id: '' });
      }
      this._emit(s, 'onEvent', { event: 'unread', data: { room: r.name, count: live.unread }, id: '' });
    }
    // The room on screen first.
    added.sort((a, b) => (b.id === currentId) - (a.id === currentId));
    for (const r of added) this._load(s, r);
  }

  /** The room's newest messages, then `ready`; live events wait meanwhile. */
  async _load(s, r) {
    if (this.session !== s || r.loaded || r.loading) return;
    r.loading = true;
    let messages = null;
    try {
      messages = await this.desktop.invoke('room_history', { roomId: r.id, limit: HISTORY_PAGE });
    } catch {
      messages = null; // offline: loaded again once connected
    }
    if (this.session !== s) return;
    r.loading = false;
    const held = r.buffer;
    r.buffer = [];
    if (Array.isArray(messages)) {
      for (const m of messages) this._emit(s, 'onEvent', { event: 'message', data: m, id: '' });
      const last = messages[messages.length - 1];
      this._emit(s, 'onEvent', { event: 'ready', data: { room: r.name, resumed: false, last_id: last?.id ?? null }, id: '' });
      r.loaded = true;
      r.dropped = false;
      const shown = new Set(messages.map((m) => m?.id));
      for (const ev of held) {
        if (ev.event === 'ready') continue; // ours stands for it
        if (ev.event === 'message' && shown.has(ev.data?.id)) continue;
        this._forward(s, r, ev);
      }
    } else {
      for (const ev of held) this._forward(s, r, ev);
      // Connected but the history failed: try again a little later (offline: on 'connected').
      r.tries += 1;
      if (!r.loaded && r.tries <= 3 && this.desktop.liveOf(r.id).connection.state === 'connected') {
        setTimeout(() => this._load(s, r), 2000 * r.tries);
      }
    }
  }

  /** One stream event of a followed room, to app.js. */
  _forward(s, r, ev) {
    let data = ev.data;
    if (ev.event === 'ready') {
      if (!data.resumed && !r.dropped) data = { ...data, resumed: true }; // Rust restarted the stream: nothing was lost
      r.dropped = false;
    } else if (ev.event === 'message' && !r.loaded) {
      r.loaded = true; // messages shown: history would now come out of order
    }
    this._emit(s, 'onEvent', { event: ev.event, data, id: '' });
  }

  _onCoreEvent(ev) {
    const s = this.session;
    if (!s || !ev.room_id || !this.isBound(ev.room_id)) return;
    let r = s.rooms.get(ev.room_id);
    if (!r) {
      this._addRooms(s, this.active);
      r = s.rooms.get(ev.room_id);
      if (!r) return;
    }
    const data = ev.data || {};
    switch (ev.event) {
      case 'connection':
        if (data.state === 'reconnecting' || data.state === 'offline') {
          for (const room of s.rooms.values()) room.dropped = true;
        }
        this._emitState(s, data);
        if (data.state === 'connected') {
          for (const room of s.rooms.values()) {
            room.tries = 0;
            this._load(s, room);
          }
        }
        return;
      case 'unread':
        this._emit(s, 'onEvent', { event: 'unread', data: { room: r.name, count: Number(data.count) || 0 }, id: '' });
        return;
      case 'outbox': {
        const update = {
          clientId: String(data.client_id),
          room: r.name,
          state: data.state,
          messageId: data.message_id || null,
          error: data.error || '',
        };
        this.outboxSeen.set(update.clientId, { state: data.state, error: data.error || '' });
        if (this.outboxSeen.size > 500) this.outboxSeen.delete(this.outboxSeen.keys().next().value);
        this._emit(s, 'onOutbox', update);
        return;
      }
      default:
        if (r.loading) r.buffer.push({ event: ev.event, data });
        else this._forward(s, r, { event: ev.event, data });
    }
  }

  /** The room on screen (null: none), for Rust's unread counts; in order. */
  _setActive(id) {
    if (this.active === id) return;
    this.active = id;
    this.activeChain = this.activeChain
      .then(() => this.desktop.invoke('set_active_room', { roomId: id }))
      .catch(() => {});
  }
}

/** The desktop transport over `tauri` (window.__TAURI__). */
export function createTauriTransport(tauri) {
  return new TauriTransport(new DesktopCore(tauri));
}

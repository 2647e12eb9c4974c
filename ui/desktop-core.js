/**
 * desktop-core.js — the desktop app's side of its Rust core (Tauri only).
 *
 * Owns: `invoke` (every command call of the desktop UI; a rejection becomes
 * a TransportError of the kind Rust gave, with the server's `reason` and a
 * ban's `until`; one refused "banned" is also told to `bannedListeners`),
 * the saved rooms, and the home
 * screen's event Channel (`follow_rooms`, every saved room's events as
 * `{room_id, event, data}`), from which it keeps each room's connection
 * state, unread count (Rust counts) and who is online. The home screen
 * (desktop.js) and the transport (transport-tauri.js) share one instance.
 * The chat view's events come on a Channel of their own (transport-tauri.js).
 */

import { TransportError } from './transport-error.js';
import { installContextMenu } from './context-menu.js';
import { guardWebview } from './desktop-links.js';
import { watchLaunch } from './desktop-launch.js';

/**
 * A command's rejection as a TransportError. Rust rejects with
 * `{kind, message, retryable, status?, retry_after?, reason?, until?}`
 * (CommandError in src-tauri/src/error.rs; `reason`: the server's, e.g.
 * "nick_protected", "banned"; `until`: when a ban ends); anything else
 * (Tauri's own errors, a string) is the app's own failure.
 */
export function commandError(err) {
  if (err instanceof TransportError) return err;
  if (err && typeof err === 'object' && typeof err.kind === 'string') {
    const message = String(err.message ?? '').trim() || 'The app could not do that.';
    const extra = { retryAfter: Number.isFinite(err.retry_after) ? err.retry_after : null };
    if (typeof err.retryable === 'boolean') extra.retryable = err.retryable;
    if (Number.isInteger(err.status)) extra.status = err.status;
    if (typeof err.reason === 'string' && err.reason) extra.reason = err.reason; // nick_protected, banned, …
    if (typeof err.until === 'string' && err.until) extra.until = err.until; // when a ban ends
    return TransportError.ofKind(err.kind, message, extra);
  }
  let message;
  if (typeof err === 'string') message = err;
  else if (err && typeof err.message === 'string') message = err.message;
  else message = String(err ?? '');
  return TransportError.ofKind('local', message.trim() || 'The app could not do that.');
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
 * The saved rooms and the live state of each. Listeners get every channel
 * event as it comes ({room_id, event, data}), and {event: 'rooms'} when the
 * saved rooms were read again.
 */
export class DesktopCore {
  constructor(tauri) {
    this.tauri = tauri;
    // Rust's page size: set before any page script by the app's init
    // script (src-tauri lib.rs), and answered again by follow_rooms.
    this.pageSize = globalThis.__HEARTH__?.pageSize ?? null;
    this.rooms = new Map(); // id -> RoomView
    this.live = new Map(); // id -> {connection, unread, mentions, presence: Set|null}
    this.listeners = new Set();
    this.bannedListeners = new Set(); // (err) => …: a command was refused 403 "banned"
    this.started = null;
    this.ready = false;
    this.ignored = new Set(); // ids of events for rooms that are not saved (forgotten)
    this.refreshTimer = 0;
  }

  /** Calls a command (`options`: Tauri's, e.g. headers for a raw body); rejects with a TransportError. */
  invoke(command, args = {}, options = undefined) {
    return Promise.resolve()
      .then(() => (options ? this.tauri.core.invoke(command, args, options) : this.tauri.core.invoke(command, args)))
      .catch((err) => {
        const error = commandError(err);
        if (error.reason === 'banned') {
          for (const listener of [...this.bannedListeners]) {
            try {
              listener(error);
            } catch (e) {
              console.error('hearth: a banned listener failed', e);
            }
          }
        }
        throw error;
      });
  }

  /** Attaches the Channel (once per page): follow_rooms. Resolves the saved rooms. */
  start() {
    if (!this.started && typeof document !== 'undefined') {
      // The page stays on the app: links to the browser, the app's own right-click menu.
      guardWebview({ open: (url) => this.invoke('open_link', { url }) });
      installContextMenu();
      setTimeout(() => watchLaunch(this), 0); // hosting at launch that failed: why, on the home screen
    }
    if (!this.started) {
      this.started = (async () => {
        const channel = new this.tauri.core.Channel();
        channel.onmessage = (message) => this._dispatch(message);
        const following = await this.invoke('follow_rooms', { onEvent: channel });
        if (Number.isInteger(following?.page_size)) this.pageSize = following.page_size;
        this._setRooms(following?.rooms);
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
      return live
        ? { ...room, connection: live.connection, unread: live.unread, mentions: live.mentions }
        : room;
    });
  }

  room(id) {
    return this.rooms.get(id) || null;
  }

  /** Adds a room Rust just answered with (the listing may lag behind). */
  know(room) {
    if (room && typeof room.id === 'string' && !this.rooms.has(room.id)) this.rooms.set(room.id, room);
  }

  liveOf(id) {
    let live = this.live.get(id);
    if (!live) {
      live = { connection: { state: 'connecting' }, unread: 0, mentions: 0, presence: null };
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
    const ev = parseEvent(message);
    if (!ev) return;
    const { data } = ev;
    const live = this.liveOf(ev.room_id);
    switch (ev.event) {
      case 'connection':
        if (typeof data.state === 'string') live.connection = data;
        break;
      case 'unread':
        live.unread = Math.max(0, Number(data.count) || 0);
        live.mentions = Math.max(0, Number(data.mentions) || 0); // of them, mentioning the person
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
    this._notify(ev);
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

/** A Channel message as {room_id, event, data}, or null. */
export function parseEvent(message) {
  let ev = message;
  if (typeof ev === 'string') {
    try {
      ev = JSON.parse(ev);
    } catch {
      return null;
    }
  }
  if (!ev || typeof ev.room_id !== 'string' || typeof ev.event !== 'string') return null;
  const data = ev.data && typeof ev.data === 'object' ? ev.data : {};
  return { room_id: ev.room_id, event: ev.event, data };
}

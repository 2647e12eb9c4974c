/**
 * outbox.js — messages typed but not yet stored by the server.
 *
 * Owns: the persistent outbox in localStorage (key `hearth.outbox.v1`), so a
 * message typed while the connection is down survives a reload and is posted
 * once when the connection returns. Every entry keeps the `clientId` it was
 * given when typed; every retry reuses it, which makes the server answer a
 * repeat with `200` instead of storing it twice.
 *
 * Every operation re-reads storage before writing, so two tabs of the same
 * browser never resurrect each other's removed entries. When localStorage is
 * unavailable (disabled, full) the outbox still works, in memory only.
 *
 * Entry: {clientId, nick, room, text, createdAt (ms since epoch), replyTo?
 * (the id of the message it answers; entries stored before replies have
 * none and still load), files? ([{name, size, type, fileId?}]: the files it
 * carries, with the upload's id once uploaded; the bytes themselves are
 * not kept here, see web-outbox.js)}.
 */

const KEY = 'hearth.outbox.v1';

function storage() {
  try {
    const s = window.localStorage;
    const probe = '__hearth_probe__';
    s.setItem(probe, '1');
    s.removeItem(probe);
    return s;
  } catch {
    return null;
  }
}

export class Outbox {
  constructor() {
    this.store = storage();
    this.memory = [];
  }

  _read() {
    if (!this.store) return this.memory.slice();
    try {
      const parsed = JSON.parse(this.store.getItem(KEY) || '[]');
      return Array.isArray(parsed) ? parsed.filter(isEntry) : [];
    } catch {
      return [];
    }
  }

  _write(entries) {
    this.memory = entries.slice();
    if (!this.store) return;
    try {
      if (entries.length) this.store.setItem(KEY, JSON.stringify(entries));
      else this.store.removeItem(KEY);
    } catch {
      this.store = null; // full or gone: keep going in memory
    }
  }

  /** Entries of `nick`, oldest first. */
  list(nick) {
    return this._read().filter((e) => e.nick === nick);
  }

  add(entry) {
    const entries = this._read().filter((e) => e.clientId !== entry.clientId);
    entries.push(stored(entry));
    this._write(entries);
  }

  /** Rewrites a kept entry in place (its files' upload ids changed); no-op once removed. */
  update(entry) {
    const entries = this._read();
    const at = entries.findIndex((e) => e.clientId === entry.clientId);
    if (at < 0) return;
    entries[at] = stored(entry);
    this._write(entries);
  }

  remove(clientId) {
    const entries = this._read();
    const kept = entries.filter((e) => e.clientId !== clientId);
    if (kept.length !== entries.length) this._write(kept);
  }
}

/** What is kept of an entry. */
function stored(entry) {
  return {
    clientId: entry.clientId,
    nick: entry.nick,
    room: entry.room,
    text: entry.text,
    createdAt: entry.createdAt,
    ...(entry.replyTo ? { replyTo: entry.replyTo } : {}),
    ...(entry.files?.length ? {
      files: entry.files.map((f) => ({
        name: f.name, size: f.size, type: f.type || '', ...(f.fileId ? { fileId: f.fileId } : {}),
      })),
    } : {}),
  };
}

const isFile = (f) => f && typeof f.name === 'string' && typeof f.size === 'number'
  && (f.fileId === undefined || typeof f.fileId === 'string');

function isEntry(e) {
  return e && typeof e.clientId === 'string' && typeof e.nick === 'string'
    && typeof e.room === 'string' && typeof e.text === 'string' && typeof e.createdAt === 'number'
    && (e.replyTo === undefined || e.replyTo === null || typeof e.replyTo === 'string')
    && (e.files === undefined || (Array.isArray(e.files) && e.files.every(isFile)));
}

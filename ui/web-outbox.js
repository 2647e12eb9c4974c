/**
 * web-outbox.js — the web transport's outbox: `transport.outbox` in a browser.
 *
 * Owns: the entries of the signed-in nick (kept in localStorage by
 * outbox.js, so they survive a reload) with their progress, and the send
 * loop that posts them one at a time while the stream is up, by the rules
 * of outbox-rules.js. Every retry reuses the entry's client id, so the
 * server stores it once. Progress goes to `onUpdate({clientId, room,
 * state, messageId?, message?, error, waitReason, retryAt})`; a sent entry
 * is forgotten here, its update carrying the stored `message`.
 *
 * A stored message the stream brings (`seen`) settles its entry too: a post
 * whose answer was lost is not retried.
 *
 * Files (protocol v1.1 "files"): an entry's files are uploaded one by one
 * (`io.upload`, web-upload.js, with progress in the updates' `files`), each
 * upload's id kept with the stored entry, then the message is posted with
 * them. localStorage cannot hold Blobs: they live in `blobs` (memory) for
 * the entry's life. After a reload an entry whose files were all uploaded
 * is posted as usual; one missing bytes fails with RELOADED. `discard`
 * aborts an upload in flight; so does the end of the session (`reset`),
 * and the file is uploaded again next time.
 */

import { newClientId } from './format.js';
import { Outbox } from './outbox.js';
import { afterPostError, nextStep, streamBack } from './outbox-rules.js';
import { MAX_FILES, percent } from './file-rules.js';
import { TransportError } from './transport-error.js';

export const RELOADED = 'The files were not sent before the page was reloaded: attach them again.';

/** What an entry looks like outside. */
function snapshot(e) {
  return {
    clientId: e.clientId,
    room: e.room,
    text: e.text,
    createdAt: e.createdAt,
    ...(e.replyTo ? { replyTo: e.replyTo } : {}),
    ...(e.files ? {
      files: e.files.map((f) => ({ name: f.name, size: f.size, type: f.type, sent: f.sent, ...(f.fileId ? { fileId: f.fileId } : {}) })),
    } : {}),
    state: e.state,
    error: e.error,
    messageId: e.messageId,
    waitReason: e.waitReason,
    retryAt: e.retryAt,
  };
}

export class WebOutbox {
  /**
   * @param {object} io {post(room, text, clientId, replyTo, fileIds) -> {message},
   *   upload(blob, name, {type, onProgress(sent)}) -> {promise (FileInfo), abort()},
   *   onUpdate(update), onAuthError(message)}
   */
  constructor({ post, upload, onUpdate, onAuthError }) {
    this.io = { post, upload, onUpdate, onAuthError };
    this.blobs = new Map(); // clientId -> [Blob], in the order of the entry's files
    this.inflight = null; // {clientId, abort()}: the upload under way
    this.store = new Outbox();
    this.nick = null;
    this.gen = 0; // bumped by reset(): a post's late answer is dropped
    this.entries = null; // this session's entries, read from storage on first use
    this.up = false; // the stream is up
    this.failures = 0; // transient post failures in a row
    this.flushing = false;
    this.timer = 0;
  }

  /** Whose entries these are (the signed-in nick, or null). */
  setNick(nick) {
    if (nick === this.nick) return;
    this.nick = nick;
    this.reset();
  }

  /** Ends the session's loop; entries are read from storage again on next use. */
  reset() {
    this.gen += 1;
    this.inflight?.abort();
    this.inflight = null;
    clearTimeout(this.timer);
    this.entries = null;
    this.up = false;
    this.failures = 0;
    this.flushing = false;
  }

  _list() {
    if (!this.entries) {
      this.entries = this.nick ? this.store.list(this.nick).map((e) => this._loaded(e)) : [];
    }
    return this.entries;
  }

  /** An entry read from storage: queued, unless bytes of its files are gone with a reload. */
  _loaded(e) {
    const entry = { ...e, state: 'queued', error: '', messageId: null, waitReason: null, retryAt: 0 };
    if (!e.files) return entry;
    const blobs = this.blobs.get(e.clientId);
    entry.files = e.files.map((f) => ({ ...f, type: f.type || '', sent: f.fileId ? f.size : 0 }));
    if (entry.files.some((f, i) => !f.fileId && !blobs?.[i])) {
      this.store.remove(e.clientId); // shown failed this once; its text can be edited back
      Object.assign(entry, { state: 'failed', error: RELOADED });
    }
    return entry;
  }

  _forget(clientId) {
    this.store.remove(clientId);
    this.blobs.delete(clientId);
  }

  /* ------------------------------------------- the contract's outbox */

  async enqueue(room, text, { replyTo = null, files = null } = {}) {
    if (!this.nick) throw TransportError.ofKind('unauthorized', 'Sign in to send messages.');
    const entry = {
      clientId: newClientId(), nick: this.nick, room, text, createdAt: Date.now(), replyTo: replyTo || null,
      state: 'queued', error: '', messageId: null, waitReason: null, retryAt: 0,
    };
    if (files?.length) {
      if (files.length > MAX_FILES) throw TransportError.ofKind('invalid', `A message can carry up to ${MAX_FILES} files.`);
      if (files.some((f) => f.kind !== 'blob' || !(f.blob instanceof Blob))) {
        throw TransportError.ofKind('invalid', 'A browser can only send files it was given (picked, dropped or pasted).');
      }
      entry.files = files.map((f) => ({ name: f.name, size: f.blob.size, type: f.type || f.blob.type || '', sent: 0, fileId: null }));
      this.blobs.set(entry.clientId, files.map((f) => f.blob));
    }
    const list = this._list(); // read storage before adding to it
    this.store.add(entry);
    list.push(entry);
    this._schedule(0); // after the caller has shown it
    return snapshot(entry);
  }

  async pending() {
    return this._list().map(snapshot);
  }

  async discard(clientId) {
    const list = this._list();
    const kept = list.filter((e) => e.clientId !== clientId);
    if (this.inflight?.clientId === clientId) this.inflight.abort();
    this._forget(clientId);
    this.entries = kept;
    return kept.length !== list.length;
  }

  /* ------------------------------------------- fed by the transport */

  /** The stream's state: 'connecting' | 'open' | 'down'. */
  streamState(state) {
    if (state === 'connecting') return;
    const was = this.up;
    this.up = state === 'open';
    if (!this.up) return;
    if (!was) {
      streamBack(this._list()); // posts that failed on the network get another go now
      this.failures = 0;
    }
    this._flush();
  }

  /** A stored message from the stream: its entry (if any) is done. */
  seen(msg) {
    if (!msg || typeof msg.client_id !== 'string' || !this.entries) return;
    const entry = this.entries.find((e) => e.clientId === msg.client_id && e.room === msg.room);
    if (!entry || entry.state === 'failed') return;
    this._forget(entry.clientId);
    this.entries = this.entries.filter((e) => e !== entry);
  }

  /* -------------------------------------------------------- the loop */

  _set(entry, fields) {
    Object.assign(entry, fields);
    this.io.onUpdate(snapshot(entry));
  }

  _schedule(ms) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this._flush(), Math.max(0, ms));
  }

  /** Posts queued entries in order while the stream is up (see outbox-rules.js). */
  async _flush() {
    if (this.flushing || !this.nick || !this.up) return;
    const gen = this.gen;
    this.flushing = true;
    try {
      while (gen === this.gen && this.up) {
        const step = nextStep(this._list(), Date.now());
        if (!step) break;
        if (step.waitMs !== undefined) {
          this._schedule(step.waitMs);
          break;
        }
        const entry = step.send;
        this._set(entry, { state: 'sending', waitReason: null, retryAt: 0 });
        let result;
        try {
          const fileIds = entry.files ? await this._upload(entry, gen) : null;
          result = await this.io.post(entry.room, entry.text, entry.clientId, entry.replyTo || null, fileIds);
        } catch (err) {
          if (gen !== this.gen) return;
          if (!this.entries.includes(entry)) continue; // the stream delivered it meanwhile
          const next = afterPostError(err, this.failures, Date.now());
          this.failures = next.failures;
          if (next.action === 'auth') {
            entry.state = 'queued'; // kept for the next session
            this.io.onAuthError(err.message);
            return;
          }
          if (next.action === 'wait') {
            this._set(entry, { state: 'queued', waitReason: next.waitReason, retryAt: next.retryAt });
            this._schedule(next.retryAt - Date.now());
            break;
          }
          // Refused for good (400, 404, 409, 413, ...): kept, failed, until discarded.
          this.store.remove(entry.clientId);
          this._set(entry, { state: 'failed', error: next.error });
          continue;
        }
        if (gen !== this.gen) return;
        this.failures = 0;
        this._forget(entry.clientId);
        this.entries = this.entries.filter((e) => e !== entry);
        const message = result?.message || null;
        this.io.onUpdate({ ...snapshot(entry), state: 'sent', messageId: message?.id || null, message });
      }
    } finally {
      if (gen === this.gen) this.flushing = false;
    }
  }

  /**
   * Uploads the entry's files not uploaded yet, one at a time, with
   * progress; resolves their ids. Rejects with the upload's TransportError,
   * or when the entry was discarded or the session ended meanwhile.
   */
  async _upload(entry, gen) {
    const blobs = this.blobs.get(entry.clientId);
    for (const [i, file] of entry.files.entries()) {
      if (file.fileId) continue;
      if (!blobs?.[i]) throw TransportError.ofKind('invalid', RELOADED);
      file.sent = 0;
      let shown = -1;
      const job = this.io.upload(blobs[i], file.name, {
        type: file.type,
        onProgress: (sent) => {
          file.sent = sent;
          const now = percent(sent, file.size);
          if (now !== shown && gen === this.gen && this.entries?.includes(entry)) {
            shown = now;
            this._set(entry, {});
          }
        },
      });
      this.inflight = { clientId: entry.clientId, abort: job.abort };
      let info;
      try {
        info = await job.promise;
      } finally {
        if (this.inflight?.abort === job.abort) this.inflight = null;
      }
      if (gen !== this.gen || !this.entries.includes(entry)) throw TransportError.ofKind('local', 'The upload was cancelled.');
      Object.assign(file, { fileId: info.id, sent: file.size });
      this.store.update(entry);
      this._set(entry, {});
    }
    return entry.files.map((f) => f.fileId);
  }
}

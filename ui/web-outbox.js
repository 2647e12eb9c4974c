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
 */

import { newClientId } from './format.js';
import { Outbox } from './outbox.js';
import { afterPostError, nextStep, streamBack } from './outbox-rules.js';
import { TransportError } from './transport-error.js';

/** What an entry looks like outside. */
function snapshot(e) {
  return {
    clientId: e.clientId,
    room: e.room,
    text: e.text,
    createdAt: e.createdAt,
    ...(e.replyTo ? { replyTo: e.replyTo } : {}),
    state: e.state,
    error: e.error,
    messageId: e.messageId,
    waitReason: e.waitReason,
    retryAt: e.retryAt,
  };
}

export class WebOutbox {
  /**
   * @param {object} io {post(room, text, clientId, replyTo) -> {message}, onUpdate(update),
   *   onAuthError(message)}
   */
  constructor({ post, onUpdate, onAuthError }) {
    this.io = { post, onUpdate, onAuthError };
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
    clearTimeout(this.timer);
    this.entries = null;
    this.up = false;
    this.failures = 0;
    this.flushing = false;
  }

  _list() {
    if (!this.entries) {
      this.entries = this.nick ? this.store.list(this.nick).map((e) => ({
        ...e, state: 'queued', error: '', messageId: null, waitReason: null, retryAt: 0,
      })) : [];
    }
    return this.entries;
  }

  /* ------------------------------------------- the contract's outbox */

  async enqueue(room, text, { replyTo = null } = {}) {
    if (!this.nick) throw TransportError.ofKind('unauthorized', 'Sign in to send messages.');
    const entry = {
      clientId: newClientId(), nick: this.nick, room, text, createdAt: Date.now(), replyTo: replyTo || null,
      state: 'queued', error: '', messageId: null, waitReason: null, retryAt: 0,
    };
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
    this.store.remove(clientId);
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
    this.store.remove(entry.clientId);
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
          result = await this.io.post(entry.room, entry.text, entry.clientId, entry.replyTo || null);
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
        this.store.remove(entry.clientId);
        this.entries = this.entries.filter((e) => e !== entry);
        const message = result?.message || null;
        this.io.onUpdate({ ...snapshot(entry), state: 'sent', messageId: message?.id || null, message });
      }
    } finally {
      if (gen === this.gen) this.flushing = false;
    }
  }
}

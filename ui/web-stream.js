/**
 * web-stream.js — the web transport's one event stream and its reconnect loop.
 *
 * Owns: `EventStream` (`GET /api/events?rooms=..&present=..` read with fetch
 * and sse.js; dead-connection detection, jittered backoff, `Last-Event-ID`
 * resume, early retry on `online` and on the page becoming visible) and
 * `backoffDelay`. transport-web.js creates one per follow().
 *
 * A session the server no longer counts ends the loop: the stream's last
 * event `ended` {reason: "banned" | "signed_out" | "superseded", error,
 * until?} is passed on and the stream closes without reconnecting; so is a
 * connection refused with 403 `reason: "banned"` (passed on as the same
 * `ended` event).
 */

import { SseParser } from './sse.js';
import { errorFrom } from './web-http.js';

const DEAD_AFTER_MS = 45_000; // no byte for this long: the connection is dead
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_CAP_MS = 30_000;
/** The room log's entry events: each carries its log id, the resume cursor (PROTOCOL v1.1). */
const LOG_ENTRIES = new Set(['message', 'edit', 'delete', 'reaction']);

/** Jittered exponential backoff: attempt 0 ~ 1 s, doubling, at most 30 s. */
export function backoffDelay(attempt) {
  const base = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 10));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/**
 * One followed event stream with its reconnect loop. Created by
 * `follow()`, ended by `close()`.
 */
export class EventStream {
  constructor(rooms, cursor, handlers, present) {
    this.rooms = rooms.slice();
    this.present = present ? present.slice() : null;
    this.cursor = cursor || '';
    this.handlers = handlers;
    this.closed = false;
    this.controller = null;
    this.wake = null; // resolves the current backoff wait early
    this.lastByteAt = 0;
    this.open = false;
    this._onOnline = () => this.reconnect();
    this._onVisible = () => {
      if (document.visibilityState !== 'visible') return;
      if (this.open && Date.now() - this.lastByteAt > DEAD_AFTER_MS) {
        this.controller?.abort(); // silently dead after a sleep
      } else {
        this.reconnect();
      }
    };
    window.addEventListener('online', this._onOnline);
    document.addEventListener('visibilitychange', this._onVisible);
    this._run();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    window.removeEventListener('online', this._onOnline);
    document.removeEventListener('visibilitychange', this._onVisible);
    this.controller?.abort();
    this.wake?.();
  }

  /** Retries now if waiting between attempts. */
  reconnect() {
    this.wake?.();
  }

  _emit(name, ...args) {
    if (this.closed) return;
    try {
      this.handlers[name]?.(...args);
    } catch (err) {
      console.error(`hearth: ${name} handler failed`, err);
    }
  }

  async _run() {
    let attempt = 0;
    while (!this.closed) {
      const outcome = await this._connectOnce();
      if (this.closed) return;
      if (outcome.status === 401) {
        this._emit('onAuthError', outcome.message);
        this.close();
        return;
      }
      if (outcome.status === 403 && outcome.reason === 'banned') {
        this._emit('onEvent', { event: 'ended', data: { reason: 'banned', error: outcome.message, until: outcome.until || null }, id: '' });
        this.close();
        return;
      }
      if (outcome.healthy) attempt = 0;
      let delay = backoffDelay(attempt);
      attempt += 1;
      if (outcome.retryAfter) delay = Math.max(delay, outcome.retryAfter * 1000);
      this._emit('onState', 'down', { retryInMs: delay, message: outcome.message, status: outcome.status });
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** One connection: resolves how it ended; never rejects. */
  async _connectOnce() {
    const controller = new AbortController();
    this.controller = controller;
    let deadTimer = null;
    let dead = false;
    const touch = () => {
      this.lastByteAt = Date.now();
      clearTimeout(deadTimer);
      deadTimer = setTimeout(() => {
        dead = true;
        controller.abort();
      }, DEAD_AFTER_MS);
    };
    let healthy = false;
    this._emit('onState', 'connecting', {});
    touch();
    try {
      const headers = { Accept: 'text/event-stream' };
      if (this.cursor) headers['Last-Event-ID'] = this.cursor;
      let query = `rooms=${this.rooms.map(encodeURIComponent).join(',')}`;
      if (this.present) query += `&present=${this.present.map(encodeURIComponent).join(',')}`;
      let response;
      try {
        response = await fetch(`/api/events?${query}`, {
          headers,
          credentials: 'same-origin',
          cache: 'no-store',
          signal: controller.signal,
        });
      } catch {
        return { status: 0, message: dead ? 'The server did not answer in time.' : 'Cannot reach the server.' };
      }
      if (!response.ok) {
        const err = await errorFrom(response);
        return { status: err.status, message: err.message, retryAfter: err.retryAfter, reason: err.reason, until: err.until };
      }
      touch();
      this.open = true;
      this._emit('onState', 'open', {});
      const parser = new SseParser({
        onEvent: (ev) => {
          if (this.closed) return;
          healthy = true;
          let data;
          try {
            data = JSON.parse(ev.data);
          } catch {
            return; // not JSON: not an event this client knows
          }
          if (ev.event === 'ended') { // the session no longer counts: the last event, no reconnect
            this._emit('onEvent', { event: 'ended', data, id: '' });
            this.close();
            return;
          }
          // Log entries carry the stream cursor (their `id:`); other events keep it.
          const id = LOG_ENTRIES.has(ev.event) ? ev.id : '';
          if (id) this.cursor = id;
          this._emit('onEvent', { event: ev.event, data, id });
        },
      }, this.cursor);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done || this.closed) break;
          touch();
          parser.feed(decoder.decode(value, { stream: true }));
        }
      } catch {
        return {
          status: 0,
          healthy,
          message: dead ? 'No data from the server for 45 s.' : 'The connection was lost.',
        };
      }
      return { status: 0, healthy, message: 'The server ended the stream.' };
    } finally {
      clearTimeout(deadTimer);
      this.open = false;
      controller.abort();
      if (this.controller === controller) this.controller = null;
    }
  }
}


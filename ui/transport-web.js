/**
 * transport-web.js — the browser transport (see transport.js for the
 * interface).
 *
 * Owns: every network call of the web client. Requests go to the page's own
 * origin with `fetch`; the session is the HttpOnly `hearth_session` cookie
 * the server sets on sign-in (this file never sees the token). Events come
 * from ONE multi-room stream, `GET /api/events?rooms=a,b,...`, read with
 * fetch + ReadableStream and parsed by sse.js (an EventSource would hide the
 * `: ping` comments and give up on non-200 answers):
 *
 * - no byte for 45 s (pings included) = dead connection: abort, reconnect;
 * - reconnects wait a jittered exponential backoff (~1 s doubling, cap 30 s;
 *   a `Retry-After` is a minimum) and send the last cursor as
 *   `Last-Event-ID`, so the server replays exactly what was missed;
 * - the wait is cut short when the browser comes back online or the page
 *   becomes visible again (after sleep a connection may be dead silently);
 * - a 401 stops retrying and calls `onAuthError`.
 */

import { SseParser } from './sse.js';
import { TransportError } from './transport-error.js';

const DEAD_AFTER_MS = 45_000; // no byte for this long: the connection is dead
const REQUEST_TIMEOUT_MS = 15_000;
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_CAP_MS = 30_000;

/** Jittered exponential backoff: attempt 0 ~ 1 s, doubling, at most 30 s. */
export function backoffDelay(attempt) {
  const base = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 10));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

function parseRetryAfter(response) {
  const value = response.headers.get('Retry-After');
  if (!value || !/^\s*\d+\s*$/.test(value)) return null;
  return Math.max(1, Number(value));
}

/** A TransportError from a non-2xx answer, with the server's `error` text. */
async function errorFrom(response) {
  let message = '';
  try {
    const text = await response.text();
    try {
      const body = JSON.parse(text);
      if (body && typeof body.error === 'string') message = body.error;
    } catch {
      message = text.slice(0, 300);
    }
  } catch {
    // the body could not be read; the status says enough
  }
  if (!message) message = `The server answered ${response.status} ${response.statusText}`.trim();
  return new TransportError(response.status, message, { retryAfter: parseRetryAfter(response) });
}

/**
 * One request: JSON in, JSON out. Resolves {status, data}; rejects with a
 * TransportError (status 0 for a network error or timeout).
 */
async function request(method, path, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: body === undefined ? { Accept: 'application/json' } : { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
        signal: controller.signal,
      });
    } catch {
      throw new TransportError(0, controller.signal.aborted
        ? 'The server did not answer in time.'
        : 'Cannot reach the server.');
    }
    if (!response.ok) throw await errorFrom(response);
    if (response.status === 204 || method === 'HEAD') return { status: response.status, data: null };
    let data;
    try {
      data = await response.json();
    } catch {
      throw new TransportError(controller.signal.aborted ? 0 : response.status, 'The server sent an unreadable answer.');
    }
    return { status: response.status, data };
  } finally {
    clearTimeout(timer);
  }
}

const roomPath = (room) => `/api/rooms/${encodeURIComponent(room)}/messages`;

/**
 * One followed event stream with its reconnect loop. Created by
 * `follow()`, ended by `close()`.
 */
class EventStream {
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
        return { status: err.status, message: err.message, retryAfter: err.retryAfter };
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
          const id = ev.event === 'message' ? ev.id : '';
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

/** The browser transport. */
export function createWebTransport() {
  let stream = null;
  return {
    kind: 'web',

    async info() {
      return (await request('GET', '/api/info')).data;
    },

    async whoAmI() {
      try {
        return (await request('GET', '/api/session')).data;
      } catch (err) {
        if (err.status === 401) return null;
        throw err;
      }
    },

    async signIn(nick, password) {
      const body = { nick };
      if (password) body.password = password;
      return (await request('POST', '/api/session', body)).data;
    },

    async signOut() {
      await request('DELETE', '/api/session');
    },

    async rooms() {
      return (await request('GET', '/api/rooms')).data;
    },

    async history(room, beforeId, limit = 50) {
      let path = `${roomPath(room)}?limit=${encodeURIComponent(limit)}`;
      if (beforeId) path += `&before=${encodeURIComponent(beforeId)}`;
      return (await request('GET', path)).data;
    },

    async post(room, text, clientId) {
      const { status, data } = await request('POST', roomPath(room), { text, client_id: clientId });
      return { message: data, repeated: status === 200 };
    },

    follow(rooms, lastCursor, handlers, present = null) {
      stream?.close();
      stream = new EventStream(rooms, lastCursor, handlers, present);
    },

    reconnect() {
      stream?.reconnect();
    },

    close() {
      stream?.close();
      stream = null;
    },
  };
}

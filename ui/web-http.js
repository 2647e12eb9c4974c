/**
 * web-http.js — one JSON request to the page's own server, for the web
 * transport.
 *
 * Owns: `request` (fetch with the session cookie, a 15 s timeout, JSON in
 * and out) and `errorFrom` (a non-2xx answer as a TransportError with the
 * server's `error` sentence, its `reason`, a ban's `until` and its
 * `Retry-After`). A banned refusal (403, `reason: "banned"`) is also told
 * to the listener set with `onBanned` (the web transport ends the session).
 */

import { TransportError } from './transport-error.js';

const REQUEST_TIMEOUT_MS = 15_000;

function parseRetryAfter(response) {
  const value = response.headers.get('Retry-After');
  if (!value || !/^\s*\d+\s*$/.test(value)) return null;
  return Math.max(1, Number(value));
}

/** A TransportError from a non-2xx answer, with the server's `error` text and `reason`. */
export async function errorFrom(response) {
  let message = '';
  let reason = null;
  let until = null;
  try {
    const text = await response.text();
    try {
      const body = JSON.parse(text);
      if (body && typeof body.error === 'string') message = body.error;
      if (body && typeof body.reason === 'string') reason = body.reason;
      if (body && typeof body.until === 'string') until = body.until;
    } catch {
      message = text.slice(0, 300);
    }
  } catch {
    // the body could not be read; the status says enough
  }
  if (!message) message = `The server answered ${response.status} ${response.statusText}`.trim();
  return new TransportError(response.status, message, { retryAfter: parseRetryAfter(response), reason, until });
}

let bannedListener = null;

/** `listener(err)` hears every banned refusal of `request` (null: none). */
export function onBanned(listener) {
  bannedListener = listener;
}

/**
 * One request: JSON in, JSON out. Resolves {status, data}; rejects with a
 * TransportError (status 0 for a network error or timeout).
 */
export async function request(method, path, body) {
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
    if (!response.ok) {
      const err = await errorFrom(response);
      if (err.reason === 'banned' && response.status === 403) {
        try {
          bannedListener?.(err);
        } catch (e) {
          console.error('hearth: banned listener failed', e);
        }
      }
      throw err;
    }
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


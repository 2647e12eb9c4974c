/**
 * outbox-rules.js — when the web outbox posts, waits, retries or gives up.
 *
 * Owns the rules, nothing else (web-outbox.js runs them):
 * - entries are posted one at a time, oldest first, while the stream is up;
 *   one that waits holds back the ones after it, so order is kept;
 * - 401: the session ended (the entry stays queued for the next session);
 * - 429: wait `Retry-After` seconds (1 if none was given), "slow";
 * - other retryable failures (network, 5xx): wait 1 s·2^n, n the failures
 *   in a row (the first wait is 2 s), at most 30 s, at least `Retry-After`;
 *   "network": these are tried again as soon as the stream comes back;
 * - anything else is refused for good: the entry fails with the server's
 *   sentence and is kept until discarded.
 *
 * Pure: errors are TransportErrors (transport-error.js), branched on by
 * `kind` and `retryable` only; `now` is passed in.
 */

import { KINDS } from './transport-error.js';

export const BACKOFF_FIRST_MS = 1_000;
export const BACKOFF_CAP_MS = 30_000;

/**
 * What follows a failed post. `failures`: transient failures in a row
 * before this one. Returns {action: 'auth'|'wait'|'fail', failures, ...}:
 * 'wait' adds {waitReason: 'slow'|'network', retryAt}, 'fail' adds {error}.
 */
export function afterPostError(err, failures, now) {
  if (err.kind === KINDS.unauthorized) return { action: 'auth', failures };
  if (err.kind === KINDS.rate_limited) {
    return { action: 'wait', failures, waitReason: 'slow', retryAt: now + (err.retryAfter || 1) * 1000 };
  }
  if (err.retryable) {
    const n = failures + 1;
    const wait = Math.max((err.retryAfter || 0) * 1000, Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** n));
    return { action: 'wait', failures: n, waitReason: 'network', retryAt: now + wait };
  }
  return { action: 'fail', failures, error: err.message };
}

/**
 * The next step of the send loop over `entries` (oldest first): {send:
 * entry}, {waitMs} until the first queued entry may be retried, or null
 * when nothing is queued.
 */
export function nextStep(entries, now) {
  const entry = entries.find((e) => e.state === 'queued');
  if (!entry) return null;
  if (entry.retryAt && entry.retryAt > now) return { waitMs: entry.retryAt - now };
  return { send: entry };
}

/** The stream is back: entries that failed on the network are due now. */
export function streamBack(entries) {
  for (const e of entries) {
    if (e.state === 'queued' && e.waitReason === 'network') e.retryAt = 0;
  }
}

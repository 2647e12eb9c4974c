/**
 * transport-error.js — the one error type every transport rejects with.
 *
 * Owns: `TransportError`, so the UI can branch on WHAT went wrong (its
 * `kind`) without knowing whether fetch (browser) or IPC (desktop app)
 * carried the request, and without reading the message text.
 *
 * - `kind`: one of KINDS below. The UI branches on this (and on
 *   `retryable`), never on `message`.
 * - `message`: a sentence for the person using the client (the server's
 *   `error` text when it sent one).
 * - `retryable`: worth retrying unchanged later (network, 429, 5xx, …).
 * - `retryAfter`: whole seconds to wait before retrying, else null.
 * - `status`: the HTTP status when a server answered, 0 when none did.
 * - `reason`: the server's `reason` for a refusal when it gave one (a
 *   refused sign-in: "server_password" or "nick_protected"), else null.
 */

/**
 * Every kind of failure. The desktop app's Rust side sends the same names
 * (`CommandError` in src-tauri/src/error.rs serializes `{kind, message,
 * retryable, retry_after}`).
 */
export const KINDS = Object.freeze({
  network: 'network', // no answer: refused, reset, timed out, host unreachable
  unauthorized: 'unauthorized', // 401: the session or password is not accepted
  forbidden: 'forbidden', // 403
  not_found: 'not_found', // 404: no such room (or a room the app forgot)
  conflict: 'conflict', // 409
  too_large: 'too_large', // 413
  rate_limited: 'rate_limited', // 429: slow down (retryAfter says how long)
  invalid: 'invalid', // 400/422 and inputs the client refuses before sending
  unavailable: 'unavailable', // 503 or a server/host that is stopped for now
  server: 'server', // any other 5xx, or an answer the client cannot read
  certificate: 'certificate', // a TLS certificate that is not trusted
  local: 'local', // the desktop app's own failure: keychain, disk, hosting
});

/** The kind an HTTP status stands for (0: no answer). */
export function kindOfStatus(status) {
  if (!status) return KINDS.network;
  switch (status) {
    case 401:
      return KINDS.unauthorized;
    case 403:
      return KINDS.forbidden;
    case 404:
      return KINDS.not_found;
    case 409:
      return KINDS.conflict;
    case 413:
      return KINDS.too_large;
    case 429:
      return KINDS.rate_limited;
    case 503:
      return KINDS.unavailable;
    default:
      return status >= 500 ? KINDS.server : KINDS.invalid;
  }
}

const RETRYABLE = new Set([KINDS.network, KINDS.rate_limited, KINDS.unavailable, KINDS.server]);

/** The HTTP status a kind stands for, when none was given (0: no answer). */
const STATUS_OF_KIND = {
  network: 0,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  invalid: 400,
  unavailable: 503,
  server: 500,
  certificate: 0,
  local: 0,
};

export class TransportError extends Error {
  /**
   * @param {number} status HTTP status, 0 when no server answered
   * @param {string} message readable text
   * @param {{retryAfter?: number|null, kind?: string, retryable?: boolean, reason?: string|null, until?: string|null}} [extra]
   *   `kind` defaults to the status's kind, `retryable` to the kind's rule.
   */
  constructor(status, message, { retryAfter = null, kind = null, retryable = null, reason = null, until = null } = {}) {
    super(message);
    this.name = 'TransportError';
    this.kind = kind && Object.hasOwn(KINDS, kind) ? kind : kindOfStatus(status);
    this.status = Number(status) || 0;
    this.retryAfter = retryAfter;
    this.reason = typeof reason === 'string' && reason ? reason : null;
    this.until = typeof until === 'string' && until ? until : null;
    this.retryable = typeof retryable === 'boolean' ? retryable : RETRYABLE.has(this.kind);
  }

  /** An error of `kind` whose status is what the kind stands for. */
  static ofKind(kind, message, extra = {}) {
    const known = Object.hasOwn(KINDS, kind) ? kind : KINDS.local;
    return new TransportError(extra.status ?? STATUS_OF_KIND[known], message, { ...extra, kind: known });
  }

  /** No answer from the server at all (refused, reset, timed out). */
  get isNetwork() {
    return this.kind === KINDS.network;
  }

  /** Worth retrying unchanged later. */
  get isTransient() {
    return this.retryable;
  }
}

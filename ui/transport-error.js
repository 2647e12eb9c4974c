/**
 * transport-error.js — the one error type every transport rejects with.
 *
 * Owns: `TransportError`, so the UI can branch on what went wrong without
 * knowing whether fetch (browser) or IPC (desktop app) carried the request.
 *
 * - `status`: the HTTP status of the server's answer, or 0 when the server
 *   could not be reached or did not answer in time (a network error).
 * - `message`: a sentence for the person using the client (the server's
 *   `error` text when it sent one).
 * - `retryAfter`: whole seconds from a `Retry-After` header, else null.
 */

export class TransportError extends Error {
  /**
   * @param {number} status HTTP status, 0 for a network error or timeout
   * @param {string} message readable text
   * @param {{retryAfter?: number|null}} [extra]
   */
  constructor(status, message, { retryAfter = null } = {}) {
    super(message);
    this.name = 'TransportError';
    this.status = status;
    this.retryAfter = retryAfter;
  }

  /** No answer from the server at all (refused, reset, timed out). */
  get isNetwork() {
    return this.status === 0;
  }

  /** Worth retrying unchanged later: a network error, 429 or any 5xx. */
  get isTransient() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/**
 * format.js — small pure helpers for showing messages safely.
 *
 * Owns: times in the reader's local time zone, the room-name rule, character
 * counts and client ids (UUID v4). Message text becomes DOM nodes in
 * markdown.js / markdown-dom.js.
 */

/** The protocol's room name rule. */
export const ROOM_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function isValidRoom(name) {
  return typeof name === 'string' && ROOM_RE.test(name);
}

/** A valid room name close to what someone typed, or null. */
export function suggestRoom(input) {
  const s = String(input).trim().toLowerCase()
    .replace(/\s+/g, '-')
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[-_]+/, '')
    .slice(0, 64);
  return isValidRoom(s) ? s : null;
}

const hhmm = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });

/** "14:05" in local time. */
export function shortTime(date) {
  return hhmm.format(date);
}

/** The full local date and time, for a title attribute. */
export function fullTime(date) {
  return full.format(date);
}

/** Code points, as the server counts characters. */
export function charCount(text) {
  return [...text].length;
}

/**
 * A fresh UUID v4. crypto.randomUUID() exists only in secure contexts
 * (https or localhost); a Hearth server on a LAN is plain http, so build one
 * from crypto.getRandomValues() there.
 */
export function newClientId() {
  if (typeof crypto.randomUUID === 'function') {
    try {
      return crypto.randomUUID();
    } catch {
      // fall through
    }
  }
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * format.js — small pure helpers for showing messages safely.
 *
 * Owns: times in the reader's local time zone, turning message text into DOM
 * nodes (text nodes and http/https links only — never HTML parsing), the
 * room-name rule, and client ids (UUID v4).
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

const URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;
const TRAILING = /[.,;:!?'"\u2019\u201d*_]+$/;

/** Cuts punctuation that ends a sentence, and a closing bracket with no opener. */
function trimUrl(raw) {
  let url = raw;
  for (;;) {
    const before = url;
    url = url.replace(TRAILING, '');
    for (const [open, close] of [['(', ')'], ['[', ']'], ['{', '}']]) {
      if (url.endsWith(close) && url.split(close).length > url.split(open).length) {
        url = url.slice(0, -1);
      }
    }
    if (url === before) return url;
  }
}

function safeHttpUrl(text) {
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host ? u : null;
  } catch {
    return null;
  }
}

/**
 * Appends `text` to `parent` as text nodes, with http(s) URLs as links
 * (target=_blank, rel=noopener noreferrer). Only DOM APIs are used, so no
 * input can become markup.
 */
export function appendLinkified(parent, text) {
  let last = 0;
  URL_RE.lastIndex = 0;
  for (let m = URL_RE.exec(text); m; m = URL_RE.exec(text)) {
    const url = trimUrl(m[0]);
    if (!url || !safeHttpUrl(url)) continue;
    if (m.index > last) parent.append(document.createTextNode(text.slice(last, m.index)));
    const a = document.createElement('a');
    a.setAttribute('href', url);
    a.setAttribute('target', '_blank');
    a.setAttribute('rel', 'noopener noreferrer');
    a.textContent = url;
    parent.append(a);
    last = m.index + url.length;
    URL_RE.lastIndex = last;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
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

/**
 * file-rules.js — the rules of files in the chat view, decided without a DOM.
 *
 * Owns: sizes for people ("31.2 MB"), whether the server takes a file
 * (its `max_file_bytes`, protocol v1.1 "files") and the sentence when it
 * does not, the composer's tray rules (at most MAX_FILES files a message;
 * a file over the limit stays in the tray, refused, and holds back Send
 * until removed, so no byte of it is ever sent), file names the server
 * accepts (a pasted screenshot has none), the box a thumbnail is shown in
 * (from the file's width and height, so the list does not jump when it
 * loads), which files show as images, upload percentages and the label of
 * a file card's icon.
 *
 * Pure: e2e/unit/file-rules.test.mjs tests it.
 */

/** Files one message can carry (the protocol's limit). */
export const MAX_FILES = 10;
/** The box a thumbnail is shown in, at most (the server's thumbnails are at most 320 px). */
export const THUMB_MAX_WIDTH = 320;
export const THUMB_MAX_HEIGHT = 240;
/** What the tray previews as an image (browsers show these; the server thumbnails the same). */
const PREVIEW_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const NAME_MAX_CHARS = 255;

const UNITS = ['KB', 'MB', 'GB', 'TB'];

/** "1 byte", "900 bytes", "1.5 KB", "31.2 MB", "25 MB" (1 KB = 1024 bytes; one decimal, none when whole or ≥ 100). */
export function humanSize(bytes) {
  const n = Math.max(0, Math.floor(Number(bytes) || 0));
  if (n < 1024) return n === 1 ? '1 byte' : `${n} bytes`;
  let value = n;
  let unit = -1;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  let shown = value >= 100 ? String(Math.round(value)) : (Math.round(value * 10) / 10).toFixed(1);
  if (shown.endsWith('.0')) shown = shown.slice(0, -2);
  if (shown === '1024' && unit < UNITS.length - 1) { // 1023.96 KB rounds up to the next unit
    shown = '1';
    unit += 1;
  }
  return `${shown} ${UNITS[unit]}`;
}

/** Whether `info` (from /api/info) says the server takes files. */
export function filesEnabled(info) {
  return Array.isArray(info?.features) && info.features.includes('files');
}

/** The server's file limit in bytes (null: unknown, nothing is refused here). */
export function maxFileBytes(info) {
  const n = Number(info?.max_file_bytes);
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** Why the server will not take a file of `size` bytes (empty, or over the limit), or '' when it will. */
export function sizeRefusal(name, size, maxBytes) {
  if (size === 0) return `${name} is empty: there is nothing to send.`;
  if (!maxBytes || size <= maxBytes) return '';
  let [is, limit] = [humanSize(size), humanSize(maxBytes)];
  if (is === limit) [is, limit] = [size, maxBytes].map((n) => `${n.toLocaleString('en-US')} bytes`); // just over: rounding would hide it
  return `${name} is ${is}; this server takes files up to ${limit}.`;
}

/**
 * A file name the server accepts (1 to 255 characters, no `/`, `\` or
 * control characters), close to `name`; a nameless one (a pasted
 * screenshot) is called "screenshot-<date>-<time>.<ext>" from `now`.
 */
export function safeName(name, type = '', now = Date.now()) {
  let clean = String(name ?? '').replace(/[/\\\p{Cc}]/gu, '_').trim();
  if (!clean || /^_*$/.test(clean)) {
    const d = new Date(now);
    const two = (x) => String(x).padStart(2, '0');
    const stamp = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}-${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
    const ext = { 'image/png': '.png', 'image/jpeg': '.jpg', 'image/gif': '.gif', 'image/webp': '.webp' }[type] || '';
    clean = `screenshot-${stamp}${ext}`;
  }
  const chars = [...clean];
  if (chars.length > NAME_MAX_CHARS) {
    const dot = clean.lastIndexOf('.');
    const ext = dot > 0 && clean.length - dot <= 16 ? [...clean.slice(dot)] : [];
    clean = chars.slice(0, NAME_MAX_CHARS - ext.length).join('') + ext.join('');
  }
  return clean;
}

/** Whether the tray shows a preview of this attachment (an image type browsers show). */
export function previewable(type) {
  return PREVIEW_TYPES.has(String(type || '').toLowerCase());
}

/**
 * Adds `candidates` ([attachment] {name, size, …}) to the tray's `items`
 * ([{attachment, refusal}]). Files past MAX_FILES are left out with a
 * sentence; a file over `maxBytes` goes in refused (its `refusal` says
 * why). Returns {items (a new list), notice ('' or a sentence)}.
 */
export function addToTray(items, candidates, maxBytes) {
  const room = Math.max(0, MAX_FILES - items.length);
  const taken = candidates.slice(0, room).map((attachment) => ({
    attachment,
    refusal: sizeRefusal(attachment.name, attachment.size, maxBytes),
  }));
  const left = candidates.length - taken.length;
  let notice = '';
  if (left > 0) {
    notice = `A message can carry up to ${MAX_FILES} files: ${left === 1 ? '1 file was' : `${left} files were`} not added.`;
  }
  return { items: [...items, ...taken], notice };
}

/** Why the tray holds back Send ('' when it does not): a refused file must be removed first. */
export function trayRefusal(items) {
  const refused = items.filter((i) => i.refusal);
  if (!refused.length) return '';
  const which = refused.length === 1 ? refused[0].attachment.name : `${refused.length} files`;
  return `${which} cannot be sent: remove ${refused.length === 1 ? 'it' : 'them'} (×) to send the rest.`;
}

/**
 * The box a thumbnail is shown in: the image's `width`×`height` scaled
 * down (never up) to fit maxWidth×maxHeight, in whole pixels (at least 1).
 * null when the size is unknown (the view then uses a square box).
 */
export function thumbBox(width, height, maxWidth = THUMB_MAX_WIDTH, maxHeight = THUMB_MAX_HEIGHT) {
  const w = Number(width);
  const hgt = Number(height);
  if (!(w > 0) || !(hgt > 0)) return null;
  const scale = Math.min(1, maxWidth / w, maxHeight / hgt);
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(hgt * scale)) };
}

/** Whether a message's file shows as an image (the server made it a thumbnail). */
export function showsAsImage(file) {
  return Boolean(file && typeof file.thumb_url === 'string' && file.thumb_url);
}

/** Percent (0 to 100, whole) of a file uploaded so far. */
export function percent(sent, size) {
  if (!(size > 0)) return sent > 0 || size === 0 ? 100 : 0;
  return Math.max(0, Math.min(100, Math.floor((Number(sent) || 0) * 100 / size)));
}

/** A file card's icon label: its extension in capitals (at most 4 letters), else "FILE". */
export function iconLabel(name) {
  const found = /\.([A-Za-z0-9]{1,4})$/.exec(String(name ?? ''));
  return found ? found[1].toUpperCase() : 'FILE';
}

/** A message's files in one line, for a quote of a message without text: "📎 photo.png, notes.txt". */
export function filesLabel(files) {
  const names = (Array.isArray(files) ? files : []).map((f) => f?.name).filter((n) => typeof n === 'string' && n);
  return names.length ? `📎 ${names.join(', ')}` : '';
}

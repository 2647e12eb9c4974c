/**
 * reading-rules.js — the rules for reading a long conversation.
 *
 * Owns: which day a message belongs to and what its day separator says
 * ("Today", "Yesterday", else a short date, with the year when it is not
 * this year's), and where the "New since you were away" line goes when a
 * room with unread messages is opened.
 *
 * Pure: no DOM, no clock. Times are ms since the epoch, read in the
 * reader's local time zone; whoever calls passes `now`. messages-view.js
 * and chat.js use it; e2e/unit/reading-rules.test.mjs tests it.
 */

const formats = new Map(); // locale + options -> Intl.DateTimeFormat

function formatter(locale, withYear) {
  const key = `${locale ?? ''}|${withYear}`;
  let f = formats.get(key);
  if (!f) {
    const options = { weekday: 'short', day: 'numeric', month: 'short' };
    if (withYear) options.year = 'numeric';
    f = new Intl.DateTimeFormat(locale, options);
    formats.set(key, f);
  }
  return f;
}

/** The local calendar day of `ts`, "2026-12-06" ('' for an invalid time). */
export function dayKey(ts) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/**
 * The separator's text for the day of `ts`, seen at `now`: "Today",
 * "Yesterday", else e.g. "Mon 30 Nov" (the locale's order), with the year
 * for another year. `locale`: undefined = the reader's.
 */
export function dayLabel(ts, now, locale = undefined) {
  const key = dayKey(ts);
  if (!key) return '';
  if (key === dayKey(now)) return 'Today';
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1); // calendar days: right across DST changes
  if (key === dayKey(yesterday.getTime())) return 'Yesterday';
  const date = new Date(ts);
  return formatter(locale, date.getFullYear() !== new Date(now).getFullYear()).format(date);
}

/**
 * The id of the first unread message of a room being opened: the oldest of
 * the `unread` newest messages not written by `me` (the transport counts
 * only those). More unread than loaded: the first loaded one. null when
 * nothing is unread.
 * @param {Array<{id: string, nick: string}>} messages oldest first
 */
export function firstUnreadId(messages, unread, me) {
  if (!(unread > 0) || !messages.length) return null;
  let left = unread;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].nick === me) continue;
    left -= 1;
    if (left === 0) return messages[i].id;
  }
  return messages[0].id;
}

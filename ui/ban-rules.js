/**
 * ban-rules.js — moderation's texts and choices (protocol v1.1 bans),
 * decided without a DOM.
 *
 * Owns:
 * - `BAN_CHOICES`: the lengths an admin picks from ("Ban for…").
 * - `formatUntil(until, {now, timeZone, locale})`: an RFC 3339 end time in
 *   the reader's local time ("14:05", or with the day when not today).
 * - `banReason(error, until)`: the admin's reason, out of the server's
 *   sentence "you are banned until <until>: <reason>" ('' when none).
 * - `banFromError(err)`: a TransportError that says "banned" (403,
 *   `reason: "banned"`) as the data of an `ended` event {reason, error,
 *   until}, else null.
 * - `bannedSentence(ended, opts)`: "You are banned from this server until
 *   <local time>: <reason>".
 * - `endedSentence(ended, opts)`: what the reader is told when the server
 *   ended the session (`ended` event: banned, signed_out, superseded).
 * - `banListLine(ban, opts)`: one current ban, for the admins' list.
 *
 * Pure. e2e/unit/ban-rules.test.mjs tests it.
 */

export const BAN_CHOICES = Object.freeze([
  Object.freeze({ minutes: 15, label: '15 minutes' }),
  Object.freeze({ minutes: 60, label: '1 hour' }),
  Object.freeze({ minutes: 24 * 60, label: '1 day' }),
  Object.freeze({ minutes: 7 * 24 * 60, label: '1 week' }),
]);

export const MAX_BAN_REASON_CHARS = 200;

/** `until` (RFC 3339) in local time: the time alone today, else with the weekday and date. */
export function formatUntil(until, { now = Date.now(), timeZone, locale } = {}) {
  const when = new Date(until);
  if (!until || Number.isNaN(when.getTime())) return String(until || 'later');
  const day = (d) => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  const time = new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit' }).format(when);
  if (day(when) === day(new Date(now))) return time;
  const date = new Intl.DateTimeFormat(locale, { timeZone, weekday: 'short', day: 'numeric', month: 'short' }).format(when);
  return `${date}, ${time}`;
}

/** The ban's reason out of the server's sentence ('' when it gave none). */
export function banReason(error, until) {
  const text = String(error || '');
  if (until) {
    const at = text.indexOf(`${until}: `);
    if (at >= 0) return text.slice(at + until.length + 2).trim();
    if (text.trimEnd().endsWith(until)) return '';
  }
  const m = /^you are banned until \S+: ([\s\S]*)$/i.exec(text);
  return m ? m[1].trim() : '';
}

/** A banned refusal (403 with `reason: "banned"`) as `ended` data; else null. */
export function banFromError(err) {
  if (!err || err.reason !== 'banned') return null;
  return { reason: 'banned', error: String(err.message || ''), until: err.until || null };
}

/** "You are banned from this server until <local time>: <reason>" (or ending with the time). */
export function bannedSentence(ended, opts = {}) {
  const until = ended?.until;
  const reason = banReason(ended?.error, until);
  const when = until ? ` until ${formatUntil(until, opts)}` : '';
  return `You are banned from this server${when}${reason ? `: ${reason}` : '.'}`;
}

/** What the reader is told when the server ended the session (`ended` data). */
export function endedSentence(ended, opts = {}) {
  switch (ended?.reason) {
    case 'banned':
      return bannedSentence(ended, opts);
    case 'signed_out':
      return 'You were signed out (from another tab or window): sign in again to go on.';
    case 'superseded':
      return 'Your session ended because your nick was signed in with its nick password elsewhere (protected, or its password changed): sign in again.';
    default:
      return 'Your session ended; please sign in again.';
  }
}

/** One line of the admins' ban list. */
export function banListLine(ban, opts = {}) {
  const reason = typeof ban?.reason === 'string' && ban.reason ? `: ${ban.reason}` : '';
  return `${ban?.nick} until ${formatUntil(ban?.until, opts)}${ban?.by ? ` (by ${ban.by})` : ''}${reason}`;
}

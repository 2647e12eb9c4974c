/**
 * mention-rules.js — mentions: which messages call the reader, and `@`
 * completion in the composer.
 *
 * Owns:
 * - `mentionsMe(msg, me)`: the server lists in a message's `mentions` the
 *   nicks its text names as `@nick` and "@here" (protocol v1.1); a message
 *   mentions the reader when that list holds the reader's nick (ignoring
 *   case) or "@here". The reader's own messages never do. Only the field
 *   counts: this client never guesses mentions from the text.
 * - `knownNicks(online, messages)`: the nicks of a room that completion
 *   offers: online ones and authors of loaded messages.
 * - `mentionQuery(text, caret)`: the `@partial` being typed at the caret.
 * - `mentionCandidates(partial, nicks, me)`: the nicks it may become.
 * - `applyMention(text, query, nick)`: the text (and caret) once one is chosen.
 *
 * Pure: no DOM. e2e/unit/mention-rules.test.mjs tests it.
 */

export const HERE = '@here';
export const MAX_CANDIDATES = 8;

const lower = (s) => s.toLowerCase();

/** Whether `msg.mentions` names `me` (any case) or "@here"; never for `me`'s own message. */
export function mentionsMe(msg, me) {
  if (!me || !msg || !Array.isArray(msg.mentions) || msg.nick === me) return false;
  const mine = lower(me);
  return msg.mentions.some((n) => typeof n === 'string' && (n === HERE || lower(n) === mine));
}

/**
 * The nicks of a room for completion: `online` (a Set or array, may be
 * null) first, then authors of `messages` from the newest; each once
 * (ignoring case).
 */
export function knownNicks(online, messages) {
  const seen = new Set();
  const out = [];
  const add = (nick) => {
    if (typeof nick !== 'string' || !nick || seen.has(lower(nick))) return;
    seen.add(lower(nick));
    out.push(nick);
  };
  for (const nick of online || []) add(nick);
  for (let i = (messages?.length || 0) - 1; i >= 0; i--) add(messages[i]?.nick);
  return out;
}

const SPACE = /\s/u;
const WORD = /[\p{L}\p{N}_-]/u; // what may not stand right before an `@` that starts a mention

/**
 * The mention being typed at `caret` in `text`: {start (the `@`), end (the
 * end of the word the caret is in), partial (from after the `@` to the
 * caret)}, or null. The `@` starts the text or follows a character that is
 * not a letter, digit, `_` or `-` (so "ana@host" is no mention); nothing
 * between it and the caret is whitespace.
 */
export function mentionQuery(text, caret) {
  if (typeof text !== 'string' || !Number.isInteger(caret) || caret < 1 || caret > text.length) return null;
  let at = caret - 1;
  while (at >= 0 && text[at] !== '@') {
    if (SPACE.test(text[at])) return null;
    at -= 1;
  }
  if (at < 0) return null;
  const before = [...text.slice(Math.max(0, at - 2), at)].pop(); // the character before, by code point
  if (before && WORD.test(before)) return null;
  const partial = text.slice(at + 1, caret);
  let end = caret;
  while (end < text.length && !SPACE.test(text[end])) end += 1;
  return { start: at, end, partial };
}

/**
 * The nicks `partial` may complete to: those of `nicks` starting with it
 * (ignoring case), not `me`, exact-length matches first, then in the order
 * given; "here" (for @here) when it matches too, last. At most `limit`.
 */
export function mentionCandidates(partial, nicks, me, limit = MAX_CANDIDATES) {
  const p = lower(partial || '');
  const mine = me ? lower(me) : null;
  const found = [];
  const seen = new Set();
  for (const nick of nicks || []) {
    if (typeof nick !== 'string' || !nick) continue;
    const l = lower(nick);
    if (l === mine || seen.has(l) || !l.startsWith(p)) continue;
    seen.add(l);
    found.push(nick);
  }
  found.sort((a, b) => Number(lower(b) === p) - Number(lower(a) === p));
  if ('here'.startsWith(p) && !seen.has('here')) found.push('here');
  return found.slice(0, limit);
}

/**
 * The text once `nick` is chosen for `query` (from mentionQuery): the
 * `@word` at the caret becomes `@nick` and a space (unless one follows).
 * Returns {text, caret} (the caret after that space).
 */
export function applyMention(text, query, nick) {
  const head = `${text.slice(0, query.start)}@${nick}`;
  const rest = text.slice(query.end);
  const spaced = rest.startsWith(' ') || rest.startsWith('\n') ? rest : ` ${rest}`;
  return { text: head + spaced, caret: head.length + 1 };
}

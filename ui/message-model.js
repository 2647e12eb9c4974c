/**
 * message-model.js — what one stored message shows, decided without a DOM.
 *
 * Owns: the view model message-item.js builds a message's elements from:
 * author, time, own or not, whether it mentions the reader (mention-rules.js),
 * the "(edited)" marker and its title, the quote of the message it replies
 * to, and its reaction chips ({emoji, count, nicks, mine, label}, in code
 * point order, as the server's map is, so they never jump around and read
 * the same on every client). Everything comes from the message's own fields
 * (protocol v1.1: `edited_ts`, `reply_to`, `reactions`, `mentions`); a
 * message without them (a v1 server) shows as before.
 *
 * Pure: no DOM, no clock. e2e/unit/message-model.test.mjs tests it.
 */

import { fullTime } from './format.js';
import { mentionsMe } from './mention-rules.js';
import { cleanReactions } from './room-log.js';

const NAMES_SHOWN = 3; // a reaction's label names this many, then "and N others"
const QUOTE_CHARS = 200; // the protocol's quote length

/** Compares two strings by code point (UTF-16 order differs above U+FFFF). */
export function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}

/** "ana", "ana and bo", "ana, bo and cy", "ana, bo, cy and 2 others". */
function names(list) {
  if (list.length <= 1) return list.join('');
  if (list.length <= NAMES_SHOWN) return `${list.slice(0, -1).join(', ')} and ${list.at(-1)}`;
  const others = list.length - NAMES_SHOWN;
  return `${list.slice(0, NAMES_SHOWN).join(', ')} and ${others} ${others === 1 ? 'other' : 'others'}`;
}

/** "You and bo reacted with 👍" (the reader first, as "You"). */
export function reactionLabel(emoji, nicks, me) {
  const mine = nicks.includes(me);
  const shown = mine ? ['You', ...nicks.filter((n) => n !== me)] : nicks;
  return `${names(shown)} reacted with ${emoji}`;
}

/**
 * A message's `reactions` {emoji: [nick]} as chips: [{emoji, count, nicks,
 * mine (the reader is among them), label}], in code point order of the
 * emoji; empty lists dropped.
 */
export function reactionSummary(reactions, me) {
  const clean = cleanReactions(reactions);
  return Object.keys(clean).sort(byCodePoint).map((emoji) => {
    const nicks = clean[emoji];
    return { emoji, count: nicks.length, nicks, mine: nicks.includes(me), label: reactionLabel(emoji, nicks, me) };
  });
}

/** A quote's text on one line, at most the protocol's length. */
export function quoteText(text) {
  const one = String(text ?? '').replace(/\s+/gu, ' ').trim();
  const chars = [...one];
  return chars.length > QUOTE_CHARS ? `${chars.slice(0, QUOTE_CHARS).join('')}…` : one;
}

/**
 * The view model of a stored message. `context`: {me (the reader's nick),
 * deleted (a Set of ids deleted this session, or null)}.
 * Returns {id, nick, text, ts (ms, NaN when invalid), own, mentioned,
 * edited: {title} | null, reply: {id, nick, text, deleted, label} | null,
 * reactions: [chip]}.
 */
export function messageModel(msg, { me = null, deleted = null } = {}) {
  const nick = String(msg.nick ?? '');
  let edited = null;
  if (msg.edited_ts) {
    const at = new Date(msg.edited_ts);
    edited = { title: Number.isNaN(at.getTime()) ? 'Edited' : `Edited ${fullTime(at)}` };
  }
  let reply = null;
  const r = msg.reply_to;
  if (r && typeof r === 'object' && typeof r.id === 'string') {
    const gone = Boolean(deleted?.has(r.id));
    const who = String(r.nick ?? '');
    const text = gone ? 'Deleted message' : quoteText(r.text);
    reply = { id: r.id, nick: who, text, deleted: gone, label: `Reply to ${who}: ${text}` };
  }
  return {
    id: msg.id,
    nick,
    text: String(msg.text ?? ''),
    ts: new Date(msg.ts).getTime(),
    own: nick === me,
    mentioned: mentionsMe(msg, me),
    edited,
    reply,
    reactions: reactionSummary(msg.reactions, me),
  };
}

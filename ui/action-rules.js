/**
 * action-rules.js — what the room log's actions may do, decided without a DOM.
 *
 * Owns the rules behind the message actions (message-actions.js) and the
 * composer's modes (composer-modes.js):
 * - `logEnabled(info)`: the server has the room log (info.features has "log").
 * - `canEdit(msg, me)`: only the author edits or deletes a message…
 * - `canDelete(msg, me, admin)`: …and an admin deletes any message.
 * - `lastOwn(messages, me)`: the message Up-arrow edits (the reader's newest).
 * - `replyTarget(msg)`: what the composer quotes for a reply {id, nick, text}.
 * - `customEmoji(input)`: a typed reaction, as the server accepts it (1 to
 *   16 characters, no whitespace or control characters), or ''.
 * - `QUICK_EMOJI`: the picker's common emoji.
 *
 * Pure. e2e/unit/action-rules.test.mjs tests it.
 */

import { filesLabel } from './file-rules.js';
import { quoteText } from './message-model.js';

export const QUICK_EMOJI = Object.freeze(['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀']);
export const MAX_EMOJI_CHARS = 16; // the server's limit

export function logEnabled(info) {
  return Array.isArray(info?.features) && info.features.includes('log');
}

export function canEdit(msg, me) {
  return Boolean(me && msg && typeof msg.id === 'string' && msg.nick === me);
}

export function canDelete(msg, me, admin = false) {
  return canEdit(msg, me) || Boolean(admin && me && msg && typeof msg.id === 'string');
}

/** The reader's newest message of `messages` (oldest first), or null. */
export function lastOwn(messages, me) {
  for (let i = (messages?.length || 0) - 1; i >= 0; i--) {
    if (canEdit(messages[i], me)) return messages[i];
  }
  return null;
}

/** The quote shown above the composer while replying. */
export function replyTarget(msg) {
  return { id: msg.id, nick: String(msg.nick ?? ''), text: quoteText(msg.text) || filesLabel(msg.files) };
}

/** A typed emoji, trimmed, if the server would take it; else ''. */
export function customEmoji(input) {
  const text = String(input ?? '').trim();
  const chars = [...text].length;
  // eslint-disable-next-line no-control-regex
  if (chars < 1 || chars > MAX_EMOJI_CHARS || /[\s\u0000-\u001f\u007f-\u009f]/u.test(text)) return '';
  return text;
}

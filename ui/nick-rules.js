/**
 * nick-rules.js — the sign-in rules for protected nicks, pure (no DOM).
 *
 * Owns: the nick password's length rule (checked before sending, as the
 * server checks it: 8 to 128 characters) and the sentences shown when the
 * server refuses a nick because it is protected (`reason: "nick_protected"`).
 */

import { charCount } from './format.js';

export const MIN_NICK_PASSWORD_CHARS = 8;
export const MAX_NICK_PASSWORD_CHARS = 128;

/** A sentence saying what is wrong with `password` as a nick password, or '' when it is fine. */
export function nickPasswordProblem(password) {
  const chars = charCount(password ?? '');
  if (chars === 0) return 'Type a nick password.';
  if (chars < MIN_NICK_PASSWORD_CHARS) {
    return `A nick password has at least ${MIN_NICK_PASSWORD_CHARS} characters.`;
  }
  if (chars > MAX_NICK_PASSWORD_CHARS) {
    return `A nick password has at most ${MAX_NICK_PASSWORD_CHARS} characters.`;
  }
  return '';
}

/**
 * The sentence for a sign-in refused because `nick` is protected: `sent`
 * says whether a nick password went with it (then it was the wrong one).
 */
export function protectedNickSentence(nick, sent) {
  return sent
    ? `That nick password is wrong for ${nick}: try again, or pick another nick.`
    : `${nick} is protected: enter its nick password, or pick another nick.`;
}

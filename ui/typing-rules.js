/**
 * typing-rules.js — who is typing, and how often to say that we are.
 *
 * Owns the rules of protocol v1.1's typing events (`typing` {room, nick},
 * never stored, never replayed):
 * - `TypingTracker`: per room, the nicks typing now. A nick shows for
 *   TYPING_SHOW_MS after its last event; a message from it, or its leaving
 *   the room, ends that at once; the reader's own nick never shows.
 *   `text()` is the line under the message list: "ana is typing…", "ana
 *   and bo are typing…", "several people are typing…" (three or more).
 * - `TypingPinger`: the sending side's throttle: while the reader types, at
 *   most one ping every TYPING_PING_MS (the server may drop more than one a
 *   second); none for an empty box; sending the message starts afresh.
 *
 * Pure: no DOM, no timers; whoever calls passes `now` (ms). chat-state.js
 * keeps a tracker; e2e/unit/typing-rules.test.mjs tests both.
 */

export const TYPING_SHOW_MS = 5_000;
export const TYPING_PING_MS = 2_500;

export class TypingTracker {
  constructor() {
    this.rooms = new Map(); // room -> Map(nick -> until, ms)
  }

  clear() {
    this.rooms.clear();
  }

  /**
   * A `typing` event {room, nick} at `now`; `me` is the reader. Returns
   * whether the room's line may have changed.
   */
  typed(data, now, me) {
    if (!data || typeof data.room !== 'string' || typeof data.nick !== 'string' || !data.nick) return false;
    if (data.nick === me) return false;
    let typing = this.rooms.get(data.room);
    if (!typing) {
      typing = new Map();
      this.rooms.set(data.room, typing);
    }
    const was = typing.has(data.nick) && typing.get(data.nick) > now;
    typing.delete(data.nick); // re-inserted: the newest typist last
    typing.set(data.nick, now + TYPING_SHOW_MS);
    return !was;
  }

  /** `nick` stopped typing in `room` (it posted, or left). Returns whether it was shown. */
  stopped(room, nick) {
    const typing = this.rooms.get(room);
    if (!typing?.has(nick)) return false;
    typing.delete(nick);
    if (!typing.size) this.rooms.delete(room);
    return true;
  }

  /** The nicks typing in `room` at `now`, in the order they started; forgets expired ones. */
  who(room, now) {
    const typing = this.rooms.get(room);
    if (!typing) return [];
    for (const [nick, until] of typing) {
      if (until <= now) typing.delete(nick);
    }
    if (!typing.size) this.rooms.delete(room);
    return [...typing.keys()];
  }

  /** The line for `room` at `now` ('' when nobody types). */
  text(room, now) {
    return typingText(this.who(room, now));
  }
}

/** "ana is typing…", "ana and bo are typing…", "several people are typing…", or ''. */
export function typingText(nicks) {
  if (!nicks.length) return '';
  if (nicks.length === 1) return `${nicks[0]} is typing…`;
  if (nicks.length === 2) return `${nicks[0]} and ${nicks[1]} are typing…`;
  return 'several people are typing…';
}

export class TypingPinger {
  constructor() {
    this.last = -Infinity; // when the last ping went out
  }

  /** The box changed to `text` at `now`: whether to send a typing ping. */
  input(text, now) {
    if (!text || !text.trim()) return false;
    if (now >= this.last && now - this.last < TYPING_PING_MS) return false; // a clock set back pings
    this.last = now;
    return true;
  }

  /** The message was sent (or the box cleared): the next keystroke pings at once. */
  reset() {
    this.last = -Infinity;
  }
}

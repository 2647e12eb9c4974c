/**
 * left-rooms.js — the rules of leaving a room.
 *
 * Owns: which rooms the reader follows, given the listed rooms, the rooms
 * the reader left and the room on screen; where to go when the room on
 * screen is left. A left room drops out of the room list and is not
 * followed (no unread count, the reader is not present in it) until it is
 * opened again: the room on screen is always followed, so opening a left
 * room un-leaves it (chat.js forgets it from the left set then).
 *
 * Pure: no DOM, no storage (left-store.js keeps the set per nick),
 * no transport. chat-state.js and chat.js use it; e2e/unit/left-rooms.test.mjs
 * tests it.
 */

/**
 * The followed rooms: the listed ones not left, plus the current one
 * (even if left: it is on screen). Sorted, no duplicates.
 * @param {string[]} listed @param {Set<string>} left @param {string|null} current
 */
export function followedRooms(listed, left, current) {
  const names = new Set(listed.filter((name) => !left.has(name)));
  if (current) names.add(current);
  return [...names].sort();
}

/** The left set with `name` added (a new Set). */
export function withLeft(left, name) {
  return new Set([...left, name]);
}

/** The left set without `name` (a new Set; the same one if it was not left). */
export function withoutLeft(left, name) {
  if (!left.has(name)) return left;
  const next = new Set(left);
  next.delete(name);
  return next;
}

/**
 * Where to go when the room on screen, `leaving`, is left: the default
 * room if it is still followed, else the first other followed room, else
 * the default room (opening it un-leaves it); null when there is nowhere
 * else (leaving the default room with no other room followed).
 * @param {string[]} followed the followed rooms before leaving
 */
export function roomAfterLeaving(followed, leaving, defaultRoom) {
  const others = followed.filter((name) => name !== leaving);
  if (defaultRoom && others.includes(defaultRoom)) return defaultRoom;
  if (others.length) return others[0];
  return defaultRoom && defaultRoom !== leaving ? defaultRoom : null;
}

/** Parses a stored left set (a JSON array of names); anything else is empty. */
export function parseLeft(text, isValid = () => true) {
  try {
    const names = JSON.parse(text || '[]');
    return new Set(Array.isArray(names) ? names.filter((n) => typeof n === 'string' && isValid(n)) : []);
  } catch {
    return new Set();
  }
}

/** The stored form of a left set: a sorted JSON array. */
export function serializeLeft(left) {
  return JSON.stringify([...left].sort());
}

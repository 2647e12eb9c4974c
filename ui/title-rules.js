/**
 * title-rules.js — the window's (or tab's) title, decided without a DOM.
 *
 * `windowTitle({unread, room, dm})`: "(3) #general — Hearth", "(3) Hearth"
 * with no room on screen, "@bo — Hearth" for a direct message; no count
 * when nothing is unread. `titleUnread(total, currentUnread, focused)`:
 * what the title counts: the other rooms' unread messages, plus the room
 * on screen's while the window is not focused (the reader is not reading
 * it then; Rust, or the web transport, counts them).
 *
 * Pure. e2e/unit/title-rules.test.mjs tests it.
 */

export function windowTitle({ unread = 0, room = '', dm = false } = {}) {
  const count = Number(unread) > 0 ? `(${Number(unread)}) ` : '';
  const where = room ? `${dm ? '@' : '#'}${room} — ` : '';
  return `${count}${where}Hearth`;
}

export function titleUnread(total, currentUnread, focused) {
  return Math.max(0, Number(total) || 0) + (focused ? 0 : Math.max(0, Number(currentUnread) || 0));
}

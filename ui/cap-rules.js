/**
 * cap-rules.js — how many messages a room keeps, and when its oldest go.
 *
 * Owns: `MAX_MESSAGES`, the most stored messages a room keeps (in its
 * state, room-log.js, and for the room on screen in the list's DOM), and
 * the decision of how many of its oldest messages to drop now:
 * - a room not on screen: whatever is over the cap, at once;
 * - the room on screen: over the cap only while the reader is at the
 *   bottom. A reader scrolled up keeps everything (nothing they read
 *   moves); the excess goes when they are back at the bottom;
 * - never while a page of older history is being loaded into the room
 *   (the page joins the oldest message kept: dropping it would leave a
 *   gap).
 * Dropped messages come back through "Load older messages" (the room's
 * `hasOlder` is set by Room.trim). Pending outbox entries are not stored
 * messages: they do not count.
 *
 * Why 200: four history pages (limits.js), about fifteen screens of a
 * busy room, so a reader rarely has to page back within a day; and each
 * message costs DOM nodes and layout in the desktop app's webview (issue
 * 17: a 300-message room must stay light).
 *
 * Pure: no DOM, no state. chat-state.js applies it; e2e/unit/cap-rules.test.mjs tests it.
 */

export const MAX_MESSAGES = 200;

/**
 * How many of a room's oldest messages to drop now. `count`: the stored
 * messages it keeps; `onScreen`: it is the room shown; `atBottom`: the
 * reader sees its newest message; `loading`: older history is on its way.
 */
export function oldestToDrop(count, { onScreen = false, atBottom = false, loading = false, cap = MAX_MESSAGES } = {}) {
  if (loading || (onScreen && !atBottom)) return 0;
  return Math.max(0, count - cap);
}

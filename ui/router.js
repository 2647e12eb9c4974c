/**
 * router.js — rooms in the address bar (`/r/{room}`), for the web shell.
 *
 * Owns: `urlRouter`, the one router the chat core can be given (the desktop
 * shell gives none: its rooms have no URLs). The core asks it for the room
 * in the URL, links room items to `href(name)`, and moves the URL along
 * with the room on screen; `onPop` reports the back and forward buttons.
 */

import { isValidRoom } from './format.js';

export const urlRouter = {
  /** The room named by the URL, or null. */
  room() {
    const m = /^\/r\/([^/]+)\/?$/.exec(location.pathname);
    if (!m) return null;
    let name;
    try {
      name = decodeURIComponent(m[1]);
    } catch {
      return null;
    }
    return isValidRoom(name) ? name : null;
  },

  href(name) {
    return `/r/${name}`;
  },

  /** Shows `name` in the URL: a new history entry (`push`) or in place. */
  show(name, { push }) {
    if (location.pathname === this.href(name)) return;
    if (push) history.pushState({ room: name }, '', this.href(name));
    else history.replaceState({ room: name }, '', this.href(name));
  },

  onPop(listener) {
    window.addEventListener('popstate', () => listener(this.room()));
  },
};

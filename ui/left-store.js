/**
 * left-store.js — the rooms a nick left, kept across reloads.
 *
 * Owns: the localStorage key `hearth.left.<nick>` (a JSON array of room
 * names, through dom.js `recall`/`remember`). The same in a browser and in
 * the desktop app's web view: what "left" means is the UI's, not the
 * transport's. The rules are in left-rooms.js.
 */

import { recall, remember } from './dom.js';
import { isValidRoom } from './format.js';
import { parseLeft, serializeLeft } from './left-rooms.js';

const key = (nick) => `hearth.left.${nick}`;

/** The rooms `nick` left (a Set; empty when none or no storage). */
export function loadLeft(nick) {
  return parseLeft(recall(key(nick)), isValidRoom);
}

/** Keeps the rooms `nick` left. */
export function saveLeft(nick, left) {
  remember(key(nick), serializeLeft(left));
}

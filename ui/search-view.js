/**
 * search-view.js — the search box and its results (protocol v1.1
 * "search").
 *
 * Owns: `form#search-form` in the top bar (`#search-input`, and
 * `#search-scope`: "This room" / "All rooms") and the results panel
 * `#search-panel` (`#search-status`, `ul#search-results >
 * li > button.search-result[data-id][data-room]` with `.search-where`
 * (room, author, time) and `.search-text` (`mark` around the matched
 * terms), `#search-more`, `#search-close`). Shown only when the server
 * has "search" (`setEnabled`).
 *
 * Keys: Ctrl/Cmd+K anywhere focuses the box (and Ctrl+F in the desktop
 * app, which has no find bar of its own); Enter searches; ArrowDown goes
 * from the box to the results, ArrowUp/ArrowDown between them, Enter
 * opens one; Escape closes the panel and gives focus back, a click
 * elsewhere closes it too. "More results" asks for the page before the
 * last result shown.
 *
 * The rules (what may be searched, where terms match, the sentences) are
 * search-rules.js, loaded when the first search runs; a message's text
 * only ever becomes text nodes. Opening a
 * result is the controller's (`onOpen(message)`: search-jump.js).
 */

import { $, h } from './dom.js';
import { fullTime, shortTime } from './format.js';
import { dayLabel } from './reading-rules.js';

/** search-rules.js, loaded with the first search (the box alone needs none of it). */
let rules = null;
const loadRules = async () => {
  rules ??= await import('./search-rules.js');
  return rules;
};

/** A result's time: "14:05" today, else its day and time. */
function when(date, now) {
  const day = dayLabel(date.getTime(), now);
  return day === 'Today' ? shortTime(date) : `${day}, ${shortTime(date)}`;
}

export class SearchView {
  /**
   * @param {object} deps {search(q, {rooms, before, limit}) -> Promise<[message]>
   *   (the transport's), currentRoom() -> name | null, onOpen(message),
   *   roomLabel(name) -> "#room" or "@nick" for a direct message (optional)}
   */
  constructor({ search, currentRoom, onOpen, roomLabel = null }) {
    this.search = search;
    this.roomLabel = roomLabel || ((name) => `#${name}`);
    this.currentRoom = currentRoom;
    this.onOpen = onOpen;
    this.form = $('#search-form');
    this.input = $('#search-input');
    this.scope = $('#search-scope');
    this.panel = $('#search-panel');
    this.status = $('#search-status');
    this.list = $('#search-results');
    this.more = $('#search-more');
    this.enabled = false;
    this.asked = null; // {q, rooms} of the results shown
    this.shown = 0;
    this.seq = 0; // bumped by every search and by close(): late answers are dropped
    this.returnFocus = null; // where focus was before the box took it

    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.run();
    });
    this.scope.addEventListener('change', () => {
      if (this.asked) this.run(); // the same words in the other scope
    });
    this.more.addEventListener('click', () => this.loadMore());
    $('#search-close').addEventListener('click', () => this.close());
    this.input.addEventListener('focus', () => {
      this.input.select();
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown' && !this.panel.hidden) {
        e.preventDefault();
        this.list.querySelector('.search-result')?.focus();
      }
    });
    this.list.addEventListener('keydown', (e) => this.onListKey(e));
    for (const el of [this.form, this.panel]) {
      el.addEventListener('keydown', (e) => {
        if (e.key !== 'Escape') return;
        e.preventDefault();
        e.stopPropagation();
        this.close();
      });
    }
    document.addEventListener('keydown', (e) => this.onGlobalKey(e));
    document.addEventListener('pointerdown', (e) => {
      // A click elsewhere closes the panel (focus goes where the click put it).
      if (!this.panel.hidden && !this.panel.contains(e.target) && !this.form.contains(e.target)) this.close({ refocus: false });
    });
  }

  /** Shown only when the server searches ("search" in its features). */
  setEnabled(on) {
    this.enabled = Boolean(on);
    this.form.hidden = !this.enabled;
    if (!this.enabled) this.close({ refocus: false });
  }

  /** Ctrl/Cmd+K (and Ctrl+F in the app): the box takes focus. */
  onGlobalKey(e) {
    if (!this.enabled || this.form.closest('[hidden]') || e.altKey || e.shiftKey) return; // not signed in, or no search
    const key = e.key.toLowerCase();
    const find = key === 'k' && (e.ctrlKey || e.metaKey);
    const appFind = key === 'f' && (e.ctrlKey || e.metaKey) && typeof window.__TAURI__ !== 'undefined';
    if (!find && !appFind) return;
    e.preventDefault();
    this.focus();
  }

  focus() {
    const active = document.activeElement;
    if (active && active !== this.input && !this.panel.contains(active)) this.returnFocus = active;
    this.input.focus();
    this.input.select();
  }

  /** Up and down between results; Home and End. */
  onListKey(e) {
    const items = [...this.list.querySelectorAll('.search-result')];
    const at = items.indexOf(document.activeElement);
    if (at < 0) return;
    let next = null;
    if (e.key === 'ArrowDown') next = items[at + 1] || (this.more.hidden ? null : this.more);
    else if (e.key === 'ArrowUp') next = at === 0 ? this.input : items[at - 1];
    else if (e.key === 'Home') next = items[0];
    else if (e.key === 'End') next = items.at(-1);
    if (!next) return;
    e.preventDefault();
    next.focus();
  }

  /** The rooms the scope means: the room on screen, or all (null). */
  scopeRooms() {
    const room = this.currentRoom();
    return this.scope.value === 'room' && room ? [room] : null;
  }

  /** Searches for what the box holds, from the newest. */
  async run() {
    const seq = ++this.seq;
    try {
      await loadRules();
    } catch (err) {
      if (seq !== this.seq) return;
      this.open();
      this.setStatus(`Could not search: ${err.message}`);
      return;
    }
    if (seq !== this.seq) return; // closed, or another search, meanwhile
    const q = this.input.value.trim();
    const problem = rules.queryProblem(q);
    this.open();
    this.list.replaceChildren();
    this.more.hidden = true;
    this.shown = 0;
    if (problem) {
      this.asked = null;
      this.seq += 1;
      this.setStatus(problem);
      return;
    }
    this.asked = { q, rooms: this.scopeRooms() };
    this.setStatus('Searching…');
    await this.fetchPage(null);
  }

  async loadMore() {
    const last = this.list.querySelector('li:last-child .search-result');
    if (!this.asked || !last) return;
    this.more.disabled = true;
    await this.fetchPage(last.dataset.id);
    this.more.disabled = false;
  }

  /** One page of the current search, before `before` (null: the newest). */
  async fetchPage(before) {
    const seq = ++this.seq;
    const { q, rooms } = this.asked;
    let page;
    try {
      page = await this.search(q, { rooms, before, limit: rules.SEARCH_PAGE });
    } catch (err) {
      if (seq === this.seq) this.setStatus(rules.failureSentence(err));
      return;
    }
    if (seq !== this.seq) return;
    const list = Array.isArray(page) ? page.filter((m) => m && typeof m.id === 'string') : [];
    const first = this.shown;
    const now = Date.now();
    this.list.append(...list.map((m) => h('li', {}, this.resultEl(m, q, now))));
    this.shown += list.length;
    const more = list.length >= rules.SEARCH_PAGE;
    this.more.hidden = !more;
    this.setStatus(rules.resultsSentence(q, this.shown, more, rooms?.[0] ? this.roomLabel(rooms[0]) : null));
    if (before && list.length) this.list.children[first]?.querySelector('.search-result')?.focus();
  }

  /** One result: where (room, author, time) and the text, its matches in `mark`. */
  resultEl(msg, q, now) {
    const text = typeof msg.text === 'string' ? msg.text : '';
    const shown = rules.snippet(text, rules.highlightRanges(text, q));
    const body = h('span', { class: 'search-text' });
    for (const piece of rules.pieces(shown.text, shown.ranges)) {
      body.append(piece.hit ? h('mark', {}, piece.text) : document.createTextNode(piece.text));
    }
    if (!text && Array.isArray(msg.files) && msg.files.length) body.append(msg.files.map((f) => f?.name).filter(Boolean).join(', '));
    const date = new Date(msg.ts);
    const valid = !Number.isNaN(date.getTime());
    const where = h('span', { class: 'search-where' },
      h('span', { class: 'search-room' }, this.roomLabel(msg.room)), ' · ',
      h('span', { class: 'search-nick' }, String(msg.nick ?? '')),
      valid ? ' · ' : null,
      valid ? h('time', { datetime: date.toISOString(), title: fullTime(date) }, when(date, now)) : null);
    return h('button', {
      type: 'button',
      class: 'search-result',
      dataset: { id: msg.id, room: msg.room },
      onclick: () => {
        this.close({ refocus: false });
        this.onOpen(msg);
      },
    }, where, body);
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  /** Shows the panel just under the box (the top bar is one row or two). */
  open() {
    this.panel.style.top = `${Math.round(this.form.getBoundingClientRect().bottom + 6)}px`;
    this.panel.hidden = false;
  }

  /** Hides the panel (results are dropped) and gives focus back to where it was. */
  close({ refocus = true } = {}) {
    const wasOpen = !this.panel.hidden || document.activeElement === this.input;
    this.seq += 1;
    this.panel.hidden = true;
    this.list.replaceChildren();
    this.more.hidden = true;
    this.asked = null;
    this.shown = 0;
    this.setStatus('');
    if (!refocus || !wasOpen) return;
    const back = this.returnFocus;
    this.returnFocus = null;
    if (back?.isConnected && back !== this.input) back.focus();
    else this.input.blur();
  }
}

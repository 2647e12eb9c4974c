/**
 * rooms-view.js — the room list, the online list and the page title.
 *
 * Owns: `nav#rooms` (`ul#room-list > li.room[data-room]` with
 * `.room-name`, `.online-count`, `.unread` and `button.leave-room`; the "Open or create a room"
 * form and its `#new-room-error`), `#room-title`, `ul#online` with
 * `#online-total`, the unread total (`#unread-total`, document.title), and
 * the narrow screen's drawers (`#toggle-rooms`, `#toggle-online`,
 * `#scrim`). It reads a ChatState (chat-state.js) and reports the room
 * the reader picks to `onOpen(name)`, the one to leave to `onLeave(name)`.
 */

import { $, h } from './dom.js';
import { isValidRoom, suggestRoom } from './format.js';

export class RoomsView {
  /**
   * @param {object} options {router (router.js, or null: no URLs), onOpen(name),
   *   onLeave(name) (may return a Promise: done leaving), onEscape() (a drawer was closed with Escape)}
   */
  constructor({ router, onOpen, onLeave, onEscape }) {
    this.router = router;
    this.onOpen = onOpen;
    this.onLeave = onLeave;
    this.items = new Map(); // name -> li.room
    $('#new-room-form').addEventListener('submit', (event) => this._onNewRoom(event));
    $('#new-room-name').addEventListener('input', () => {
      $('#new-room-error').textContent = '';
      $('#new-room-name').removeAttribute('aria-invalid');
    });
    $('#toggle-rooms').addEventListener('click', () => this.setDrawer($('#app').classList.contains('show-rooms') ? null : 'rooms'));
    $('#toggle-online').addEventListener('click', () => this.setDrawer($('#app').classList.contains('show-online') ? null : 'online'));
    $('#scrim').addEventListener('click', () => this.closeDrawers());
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.closeDrawers()) onEscape();
    });
  }

  clear() {
    this.items.clear();
    $('#room-list').replaceChildren();
    $('#online').replaceChildren();
  }

  /** The heading of the list ("Rooms", or the desktop app's "Rooms on …"). */
  setHeading(text) {
    $('#rooms .panel-title').textContent = text;
  }

  /* ------------------------------------------------------------- list */

  _createItem(name) {
    const li = h('li', { class: 'room' });
    li.dataset.room = name;
    const link = h('a', { class: 'room-link', href: this.router ? this.router.href(name) : '#' },
      h('span', { class: 'room-name' }, name),
      h('span', { class: 'online-count', title: 'online' }, '0'),
      h('span', { class: 'mentions', hidden: true, title: 'mentions you' }, '@'),
      h('span', { class: 'unread', hidden: true }, '0'));
    link.addEventListener('click', (event) => {
      // With URLs, a middle click or a modified one opens a tab, as links do.
      if (this.router && (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)) return;
      event.preventDefault();
      this.onOpen(name);
    });
    // A button of its own (not inside the link): reachable by Tab, always shown on touch screens.
    const leave = h('button', { type: 'button', class: 'leave-room', title: `Leave #${name}`, 'aria-label': `Leave #${name}` }, '×');
    leave.addEventListener('click', () => this._leave(name));
    li.append(link, leave);
    return li;
  }

  /** Leaves a room; focus moves to the room now at its place in the list (else the new-room field). */
  async _leave(name) {
    const li = this.items.get(name);
    const hadFocus = Boolean(li?.contains(document.activeElement));
    const at = [...$('#room-list').children].indexOf(li);
    await this.onLeave(name);
    if (!hadFocus || this.items.get(name)?.isConnected) return;
    const rest = [...$('#room-list').children];
    const next = rest[Math.min(Math.max(at, 0), rest.length - 1)];
    (next?.querySelector('.room-link') || $('#new-room-name')).focus();
  }

  _updateItem(li, state, room) {
    const current = room.name === state.current;
    if (current) li.setAttribute('aria-current', 'true');
    else li.removeAttribute('aria-current');
    const online = room.onlineCount;
    const count = state.unreadOf(room);
    li.querySelector('.online-count').textContent = String(online);
    const unread = li.querySelector('.unread');
    unread.textContent = String(count);
    unread.hidden = count === 0;
    const mentions = current ? 0 : room.mentions;
    const badge = li.querySelector('.mentions');
    badge.textContent = `@${mentions}`;
    badge.hidden = mentions === 0;
    li.querySelector('.room-link').setAttribute('aria-label', `${room.name}, ${online} online${count ? `, ${count} unread` : ''}`
      + `${mentions ? `, ${mentions} ${mentions === 1 ? 'mention' : 'mentions'} of you` : ''}${current ? ' (current room)' : ''}`);
  }

  /** The whole list: the listed rooms and the current one, sorted. */
  render(state) {
    const ul = $('#room-list');
    const names = state.shownRooms();
    names.forEach((name, i) => {
      let li = this.items.get(name);
      if (!li) {
        li = this._createItem(name);
        this.items.set(name, li);
      }
      this._updateItem(li, state, state.ensureRoom(name));
      if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
    });
    const shown = new Set(names);
    for (const [name, li] of this.items) {
      if (!shown.has(name)) {
        li.remove();
        this.items.delete(name);
      }
    }
    this.renderTitle(state);
  }

  /** One room's counts (the whole list if it is listed but not shown yet). */
  renderItem(state, room) {
    const li = this.items.get(room.name);
    if (li) this._updateItem(li, state, room);
    else if (state.listed.includes(room.name)) this.render(state);
    this.renderTitle(state);
  }

  /** `#room-title`, the document title and the unread total. */
  renderTitle(state) {
    $('#room-title').textContent = state.current || '';
    const unread = state.unreadTotal;
    const base = state.info?.name || 'Hearth';
    const where = state.current ? `#${state.current} · ` : '';
    document.title = `${unread ? `(${unread}) ` : ''}${where}${base}`;
    const badge = $('#unread-total');
    badge.hidden = unread === 0;
    badge.textContent = unread ? String(unread) : '';
  }

  /** Who is online in the room on screen. */
  renderOnline(state) {
    const room = state.currentRoom;
    const nicks = room?.online ? [...room.online].sort((a, b) => a.localeCompare(b)) : [];
    $('#online').replaceChildren(...nicks.map((nick) => h('li', { class: nick === state.me ? 'me' : null }, nick)));
    $('#online-total').textContent = room ? String(room.onlineCount) : '';
  }

  _onNewRoom(event) {
    event.preventDefault();
    const input = $('#new-room-name');
    const error = $('#new-room-error');
    const name = input.value.trim();
    if (!name) {
      error.textContent = 'Type a room name.';
      input.focus();
      return;
    }
    if (!isValidRoom(name)) {
      const hint = suggestRoom(name);
      error.textContent = 'Room names are 1–64 characters: lowercase letters, digits, "-" and "_", '
        + `starting with a letter or digit.${hint ? ` Try "${hint}".` : ''}`;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    error.textContent = '';
    input.removeAttribute('aria-invalid');
    input.value = '';
    this.onOpen(name);
  }

  /* ---------------------------------------------------------- drawers */

  setDrawer(which) {
    const app = $('#app');
    app.classList.toggle('show-rooms', which === 'rooms');
    app.classList.toggle('show-online', which === 'online');
    $('#toggle-rooms').setAttribute('aria-expanded', String(which === 'rooms'));
    $('#toggle-online').setAttribute('aria-expanded', String(which === 'online'));
    $('#scrim').hidden = !which;
    if (which === 'rooms') (document.querySelector('#room-list a[href]') || $('#new-room-name')).focus();
  }

  /** Closes an open drawer; returns whether one was open. */
  closeDrawers() {
    const open = $('#app').classList.contains('show-rooms') || $('#app').classList.contains('show-online');
    this.setDrawer(null);
    return open;
  }
}

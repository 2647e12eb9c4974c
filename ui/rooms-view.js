/**
 * rooms-view.js — the room list, the online list and the page title.
 *
 * Owns: `nav#rooms` (`ul#room-list > li.room[data-room]` with
 * `.room-name`, `.online-count`, `.unread` and `button.leave-room`; the
 * "Direct messages" section `#dm-title` + `ul#dm-list > li.room.dm[data-room][data-nick]`
 * with `.presence[data-online]`, `.room-name` (the other nick, never the
 * `dm-…` name) and `.unread.dm-unread` (every DM message counts like a
 * mention); the "Open or create a room"
 * form and its `#new-room-error`), `#room-title` (the other nick after an
 * "@" for a DM), `#online-total` (the online list's items are
 * people-menu.js's, through `renderPeople`), the unread total (`#unread-total`, document.title), and
 * the narrow screen's drawers (`#toggle-rooms`, `#toggle-online`,
 * `#scrim`). It reads a ChatState (chat-state.js) and reports the room
 * the reader picks to `onOpen(name)`, the one to leave to `onLeave(name)`.
 */

import { titleUnread, windowTitle } from './title-rules.js';
import { $, h } from './dom.js';
import { isValidRoom, suggestRoom } from './format.js';
import { onlineAnywhere, roomNameProblem, splitShown } from './dm-rules.js';

export class RoomsView {
  /**
   * @param {object} options {router (router.js, or null: no URLs), onOpen(name),
   *   onLeave(name) (may return a Promise: done leaving), onEscape() (a drawer was closed with Escape),
   *   renderPeople(nicks, me) (draws the online list)}
   */
  constructor({ router, onOpen, onLeave, onEscape, renderPeople }) {
    this.router = router;
    this.onOpen = onOpen;
    this.onLeave = onLeave;
    this.renderPeople = renderPeople;
    this.items = new Map(); // name -> li.room
    this.dmItems = new Map(); // DM room name -> li.room.dm
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
    this.dmItems.clear();
    $('#room-list').replaceChildren();
    $('#dm-list').replaceChildren();
    $('#dm-title').hidden = true;
    this.renderPeople([], null);
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
    this._onLinkClick(link, name);
    // A button of its own (not inside the link): reachable by Tab, always shown on touch screens.
    const leave = h('button', { type: 'button', class: 'leave-room', title: `Leave #${name}`, 'aria-label': `Leave #${name}` }, '×');
    leave.addEventListener('click', () => this._leave(name));
    li.append(link, leave);
    return li;
  }

  _onLinkClick(link, name) {
    link.addEventListener('click', (event) => {
      // With URLs, a middle click or a modified one opens a tab, as links do.
      if (this.router && (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)) return;
      event.preventDefault();
      this.onOpen(name);
    });
  }

  _createDmItem(name, nick) {
    const li = h('li', { class: 'room dm' });
    li.dataset.room = name;
    li.dataset.nick = nick;
    const link = h('a', { class: 'room-link', href: this.router ? this.router.href(name) : '#' },
      h('span', { class: 'presence', 'aria-hidden': 'true' }),
      h('span', { class: 'room-name' }, nick),
      h('span', { class: 'unread dm-unread', hidden: true, title: 'unread messages to you' }, '0'));
    this._onLinkClick(link, name);
    li.append(link);
    return li;
  }

  _updateDmItem(li, state, room, nick) {
    const current = room.name === state.current;
    if (current) li.setAttribute('aria-current', 'true');
    else li.removeAttribute('aria-current');
    const online = onlineAnywhere(nick, state.rooms.values());
    const dot = li.querySelector('.presence');
    dot.dataset.online = String(online);
    dot.title = online ? 'online' : 'offline';
    const count = state.unreadOf(room);
    const unread = li.querySelector('.unread');
    unread.textContent = String(count);
    unread.hidden = count === 0;
    li.querySelector('.room-link').setAttribute('aria-label', `Direct messages with ${nick}, ${online ? 'online' : 'offline'}`
      + `${count ? `, ${count} unread` : ''}${current ? ' (current)' : ''}`);
  }

  /** The "Direct messages" section: [{room, nick}] sorted by nick. */
  _renderDms(state, dms) {
    const ul = $('#dm-list');
    dms.forEach(({ room: name, nick }, i) => {
      let li = this.dmItems.get(name);
      if (!li || li.dataset.nick !== nick) {
        li?.remove();
        li = this._createDmItem(name, nick);
        this.dmItems.set(name, li);
      }
      this._updateDmItem(li, state, state.ensureRoom(name), nick);
      if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
    });
    const shown = new Set(dms.map((d) => d.room));
    for (const [name, li] of this.dmItems) {
      if (!shown.has(name)) {
        li.remove();
        this.dmItems.delete(name);
      }
    }
    $('#dm-title').hidden = dms.length === 0;
  }

  /** Every DM's online state and counts (presence anywhere may change them). */
  renderDms(state) {
    for (const [name, li] of this.dmItems) this._updateDmItem(li, state, state.ensureRoom(name), li.dataset.nick);
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

  /** The whole list: the listed rooms and the current one, sorted; DMs apart. */
  render(state) {
    const ul = $('#room-list');
    const { rooms: names, dms } = splitShown(state.shownRooms(), state.dms);
    this._renderDms(state, dms);
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
    const dm = this.dmItems.get(room.name);
    if (li) this._updateItem(li, state, room);
    else if (dm) this._updateDmItem(dm, state, room, dm.dataset.nick);
    else if (state.listed.includes(room.name)) this.render(state);
    this.renderTitle(state);
  }

  /** `#room-title`, the document title and the unread total. */
  renderTitle(state) {
    const dm = Boolean(state.current && state.dms.has(state.current));
    const label = state.current ? state.label(state.current) : '';
    $('#room-title').textContent = label;
    $('#room-heading .hash').textContent = dm ? '@' : '#';
    const unread = state.unreadTotal;
    const focused = typeof document.hasFocus !== 'function' || document.hasFocus();
    document.title = windowTitle({ unread: titleUnread(unread, state.currentRoom?.unread, focused), room: label, dm });
    if (!this.titleState) {
      // Focus changes what the title counts (the room on screen, unread while away).
      window.addEventListener('focus', () => this.renderTitle(this.titleState));
      window.addEventListener('blur', () => this.renderTitle(this.titleState));
    }
    this.titleState = state;
    const badge = $('#unread-total');
    badge.hidden = unread === 0;
    badge.textContent = unread ? String(unread) : '';
  }

  /** Who is online in the room on screen. */
  renderOnline(state) {
    const room = state.currentRoom;
    const nicks = room?.online ? [...room.online].sort((a, b) => a.localeCompare(b)) : [];
    this.renderPeople(nicks, state.me);
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
    const kept = roomNameProblem(name);
    if (kept) {
      error.textContent = kept;
      input.setAttribute('aria-invalid', 'true');
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
    if (which === 'rooms') (document.querySelector('#room-list a[href], #dm-list a[href]') || $('#new-room-name')).focus();
  }

  /** Closes an open drawer; returns whether one was open. */
  closeDrawers() {
    const open = $('#app').classList.contains('show-rooms') || $('#app').classList.contains('show-online');
    this.setDrawer(null);
    return open;
  }
}

/**
 * chat.js — the chat view's controller: transport events in, views out.
 *
 * Owns: one signed-in session of the chat view (`enter` … `reset`): it
 * reads the room list, follows the rooms on the transport, feeds every
 * event into the ChatState (chat-state.js: the rules) and tells the views
 * what changed: rooms-view.js (room list, online list, title),
 * messages-view.js, composer-view.js, status-view.js (connection, notices);
 * the outbox's entries go through chat-pending.js, the room log's events
 * through chat-log.js, the reader's log actions through chat-actions.js, files through chat-files.js,
 * search through search-view.js and search-jump.js (loaded when a result
 * is first opened), people (DMs,
 * moderation, the session's standing) through chat-people.js. It also runs the
 * view's clocks: the once-a-second tick, the room list refresh, the
 * transient notice.
 *
 * It uses only the transport interface of transport.js: no checks of which
 * transport runs. What differs between the shells comes in as options:
 * a `router` (router.js: rooms in URLs, web only), whether a "Retry now"
 * button is shown, and what happens when the session ends.
 *
 * Event flow: the followed rooms are the current one plus the listed ones
 * (up to 50); the user is present in the current one only, so a room
 * switch refollows (the transport resumes from its own cursor). Messages
 * typed go to `transport.outbox`, show as pending, and the stored message
 * replaces the pending entry (matched by client id) exactly once.
 *
 * Leaving a room (left-rooms.js, kept per nick by left-store.js) drops it
 * from the list and the follow set until it is opened again.
 *
 * The server may end the session (`ended` from the transport: banned,
 * signed out, superseded): the shell's `onSessionEnded(ended)` gets it.
 */

import { $, NICK_KEY, remember } from './dom.js';
import { isValidRoom } from './format.js';
import { ChatState } from './chat-state.js';
import { LogActions } from './chat-actions.js';
import { ChatFiles } from './chat-files.js';
import { ChatPeople } from './chat-people.js';
import { banFromError } from './ban-rules.js';
import { ComposerView } from './composer-view.js';
import { setMessageActions } from './context-menu.js';
import { RoomLogEvents } from './chat-log.js';
import { roomAfterLeaving, withLeft, withoutLeft } from './left-rooms.js';
import { loadLeft, saveLeft } from './left-store.js';
import { PendingMessages } from './chat-pending.js';
import { MessageList } from './messages-view.js';
import { firstUnreadId } from './reading-rules.js';
import { RoomsView } from './rooms-view.js';
import { SearchView } from './search-view.js';
import { StatusView } from './status-view.js';
import { KINDS } from './transport-error.js';

const ROOMS_REFRESH_MS = 30_000;
const ROOMS_DEBOUNCE_MS = 1_000; // presence changes ask for the room list at most this often
const NOTICE_MS = 8_000;

const wide = () => window.matchMedia('(min-width: 700px)').matches;

export class Chat {
  /**
   * @param {object} transport see transport.js
   * @param {object} options {router (router.js) or null, retryButton (bool),
   *   onSessionEnded(ended) (the session is no longer valid: the shell resets
   *   this chat and shows its own screen; `ended`: the server's
   *   {reason, error, until?} when it said why, else null)}
   */
  constructor(transport, { router = null, retryButton = true, onSessionEnded }) {
    this.transport = transport;
    this.router = router;
    this.onSessionEnded = onSessionEnded;
    this.state = new ChatState(transport.pageSize);
    this.epoch = 0; // bumped by reset(): late results of an old session are dropped
    this.timers = { ticker: 0, roomsInterval: 0, roomsDebounce: 0, transient: 0 };
    this.pending = new PendingMessages(this);
    this.log = new RoomLogEvents(this);
    this.actions = new LogActions(this); // the log's actions: reply, edit, delete, react, typing, @
    setMessageActions(() => (this.actions.enabled ? { // the app's right-click menu (context-menu.js)
      panel: this.actions.panel, message: (id) => this.state.currentRoom?.get(id) || null,
      canEdit: (msg) => this.actions.panel.handlers.canEdit(msg), canDelete: (msg) => this.actions.panel.handlers.canDelete(msg),
    } : null));
    this.files = new ChatFiles(this); // attach, drop, paste; thumbnails, the viewer, downloads
    this.messages = new MessageList({
      scroller: $('#scroller'), list: $('#messages'), loadOlder: $('#load-older'), jumpNew: $('#jump-new'), typing: $('#typing'),
    }, {
      onLoadOlder: () => this.loadOlder(),
      onDiscard: (clientId) => this.pending.discard(clientId),
      onEdit: (clientId) => this.pending.edit(clientId),
      onReplyMissing: () => this.showTransient('The original message is not loaded: load older messages to see it.'),
      onAtBottom: () => this.trimShown(),
      ...this.actions.listActions,
      ...this.files.listActions,
    });
    this.jump = null; // search-jump.js's SearchJump (a search result opened in place), loaded with the first one
    this.search = new SearchView({
      search: (q, options) => transport.search(q, options),
      currentRoom: () => this.state.current,
      onOpen: (msg) => this.openResult(msg),
      roomLabel: (name) => this.state.tag(name),
    });
    this.people = new ChatPeople(this); // DMs, moderation, the lock by the nick
    this.rooms = new RoomsView({
      router,
      onOpen: (name) => this.openRoom(name),
      onLeave: (name) => this.leaveRoom(name),
      onEscape: () => this.composer.focus(),
      renderPeople: (nicks, me) => this.people.menu.render(nicks, me),
    });
    this.composer = new ComposerView({ ...this.actions.composerActions, files: this.files.composerFiles });
    this.status = new StatusView({
      retryButton,
      onDismiss: () => {
        this.state.dismissNotice();
        this.renderNotice();
      },
      onReconnect: () => transport.reconnect(),
    });
    router?.onPop((name) => {
      if (!this.state.me) return;
      const room = name || this.state.info?.default_room || 'general';
      if (room !== this.state.current) this.openRoom(room, { push: false });
    });
    window.addEventListener('online', () => this.renderConnection());
    window.addEventListener('offline', () => this.renderConnection());
    this.renderComposer();
  }

  get me() {
    return this.state.me;
  }

  /** The server's info (name, default room, text limit); kept across sessions. */
  setInfo(info) {
    this.state.info = info;
    this.search.setEnabled(Array.isArray(info?.features) && info.features.includes('search'));
    this.renderComposer();
    if (!this.state.me) return;
    this.rooms.renderTitle(this.state);
    if (this.messages.log !== this.actions.enabled) this.renderMessages(); // the log's actions come or go
    this.rooms.renderOnline(this.state); // "Message" comes or goes with "dm"
  }

  /** Reads the info from the transport for this session. */
  refreshInfo() {
    const epoch = this.epoch;
    this.transport.info().then((info) => {
      if (epoch === this.epoch && info) this.setInfo(info);
    }, () => {});
  }

  /**
   * Shows the chat view signed in as `nick`, in `room` (else the URL's, else
   * the default). `session` {protected, admin}: what signIn / whoAmI said
   * (null: asked of the transport's whoAmI).
   */
  async enter(nick, room = null, session = null) {
    this.reset();
    const { state } = this;
    const epoch = this.epoch;
    state.me = nick;
    this.messages.me = nick;
    remember(NICK_KEY, nick);
    $('#me').textContent = nick;
    $('#boot').hidden = true;
    $('#app').hidden = false;
    this.people.setSession(session);
    if (!session) {
      this.transport.whoAmI().then((who) => {
        if (epoch === this.epoch && who?.nick === nick) this.people.setSession(who);
      }, () => {});
    }
    state.left = loadLeft(nick);
    const asked = room || this.router?.room(); // a room asked for by name is opened, so un-left
    if (asked) this.setLeft(withoutLeft(state.left, asked));
    state.current = asked || state.info?.default_room || 'general';
    this.router?.show(state.current, { push: false });
    this.transport.setActive(state.current);
    this.renderAll();
    this.pending.load();
    this.timers.ticker = setInterval(() => this.tick(), 1000);
    this.timers.roomsInterval = setInterval(() => this.refreshRooms(), ROOMS_REFRESH_MS);
    if (wide()) this.composer.focus();
    await this.refreshRooms();
    if (epoch !== this.epoch) return;
    this.updateFollow(); // if the room list could not be read, follow the current room anyway
  }

  /** Forgets everything of the signed-in session (the outbox stays with the transport). */
  reset() {
    this.epoch += 1;
    this.transport.setActive(null);
    this.transport.close();
    for (const key of ['ticker', 'roomsInterval']) clearInterval(this.timers[key]);
    for (const key of ['roomsDebounce', 'transient']) clearTimeout(this.timers[key]);
    this.timers.roomsDebounce = 0;
    this.state.reset();
    this.actions.reset();
    this.files.reset();
    this.search.close({ refocus: false });
    this.people.reset();
    this.rooms.clear();
    this.messages.clear();
    this.rooms.closeDrawers();
    this.renderNotice();
    this.renderConnection();
    this.renderComposer();
  }

  /** The session is over; `ended`: the server's {reason, error, until?} when it said why. */
  sessionEnded(ended = null) {
    if (this.state.me) this.onSessionEnded(ended && typeof ended === 'object' ? ended : null);
  }

  setRoomsHeading(text) {
    this.rooms.setHeading(text);
  }

  /* --------------------------------------------------------- rendering */

  renderAll() {
    this.rooms.render(this.state);
    this.renderMessages();
    this.rooms.renderOnline(this.state);
    this.renderNotice();
    this.renderComposer();
    this.renderConnection();
  }

  renderComposer() {
    const { me, current, maxChars } = this.state;
    const label = current && this.state.dms.has(current) ? this.state.label(current) : current && `#${current}`;
    this.composer.render({ me, current, maxChars, label });
    this.files.render();
  }

  renderMessages() {
    const room = this.state.currentRoom;
    if (!room) {
      this.messages.clear();
      return;
    }
    const now = Date.now();
    const pendings = this.state.pending.filter((p) => p.room === room.name).map((p) => this.state.withStatusText(p, now));
    this.messages.deleted = room.deleted;
    this.messages.log = this.actions.enabled;
    this.messages.render(room.messages, pendings, this.state.dms.has(room.name) ? `Messages with ${this.state.label(room.name)}` : `Messages in #${room.name}`, room.newSince);
    this.renderLoadOlder();
    this.log.renderTyping();
  }

  renderLoadOlder() {
    const room = this.state.currentRoom;
    if (room) this.messages.setCanLoadOlder(room.hasOlder && room.messages.length > 0, room.loadingOlder);
  }

  renderNotice() {
    this.status.renderNotice(this.state.noticeLines(Date.now()));
  }

  renderConnection() {
    const view = this.state.connectionView(Date.now(), navigator.onLine);
    if (this.status.renderConnection(view, this.state.stream.error)) this.pending.renderStatuses();
  }

  /** A line in the notice bar for a few seconds. */
  showTransient(message) {
    this.state.transient = message;
    clearTimeout(this.timers.transient);
    this.timers.transient = setTimeout(() => {
      this.state.transient = '';
      this.renderNotice();
    }, NOTICE_MS);
    this.renderNotice();
  }

  /** Once a second: countdowns, the 3-second offline threshold, the day changing, typing expiring. */
  tick() {
    this.messages.tickDay(Date.now());
    this.log.renderTyping();
    this.renderConnection();
    this.renderNotice();
  }

  /* ------------------------------------------------------------- rooms */

  async refreshRooms() {
    const epoch = this.epoch;
    let list;
    try {
      list = await this.transport.rooms();
    } catch (err) {
      if (epoch === this.epoch && err.kind === KINDS.unauthorized) this.sessionEnded();
      else if (epoch === this.epoch && banFromError(err)) this.sessionEnded(banFromError(err));
      return;
    }
    if (epoch !== this.epoch || !Array.isArray(list)) return;
    this.state.setListed(list);
    if (this.people.leaveForeignDm()) return; // the URL named a DM room that is not the reader's
    this.rooms.render(this.state);
    this.rooms.renderOnline(this.state);
    if (this.state.dms.has(this.state.current)) this.renderComposer(); // "Message bo", once known
    this.updateFollow();
  }

  scheduleRoomsRefresh() {
    if (this.timers.roomsDebounce) return;
    this.timers.roomsDebounce = setTimeout(() => {
      this.timers.roomsDebounce = 0;
      this.refreshRooms();
    }, ROOMS_DEBOUNCE_MS);
  }

  /** (Re)follows if the set of rooms to follow, or the current room, changed. */
  updateFollow() {
    if (!this.state.me) return;
    const want = this.state.takeFollowChange();
    if (!want) return;
    const epoch = this.epoch;
    const guard = (fn) => (...args) => {
      if (epoch === this.epoch) fn.apply(this, args);
    };
    this.transport.follow(want, {
      onEvent: guard(this.onStreamEvent),
      onState: guard(this.onStreamState),
      onAuthError: guard(this.sessionEnded),
      onOutbox: guard((update) => this.pending.onOutbox(update)),
    }, this.state.current ? [this.state.current] : []);
  }

  /** A search result: its room, at that message (search-jump.js, loaded the first time). */
  async openResult(msg) {
    if (!this.jump) {
      try {
        const { SearchJump } = await import('./search-jump.js');
        this.jump ??= new SearchJump(this);
      } catch (err) {
        this.showTransient(`Could not open that message: ${err.message}`);
        return;
      }
    }
    await this.jump.open(msg);
  }

  /** Opens a room (the transport may have to join it first, and may warn). */
  async openRoom(name, { push = true } = {}) {
    if (!this.state.me || !isValidRoom(name)) return;
    const epoch = this.epoch;
    let warning = null;
    try {
      warning = await this.transport.openRoom(name);
    } catch (err) {
      if (epoch === this.epoch) this.showTransient(`Could not open ${this.state.tag(name)}: ${err.message}`);
      return;
    }
    if (epoch !== this.epoch || !this.state.me) return;
    this.showRoom(name, { push });
    if (warning) this.showTransient(warning);
    if (!this.state.listed.includes(name)) this.scheduleRoomsRefresh();
  }

  showRoom(name, { push }) {
    this.setLeft(withoutLeft(this.state.left, name)); // opening a left room un-leaves it
    this.messages.setBusy(false);
    if (name !== this.state.current) this.actions.reset();
    const room = this.state.ensureRoom(name); // its unread count is the transport's until setActive
    room.newSince = firstUnreadId(room.messages, room.unread, this.state.me);
    const left = this.state.currentRoom;
    this.state.current = name;
    if (left && left !== room) this.state.trim(left); // off screen now: down to the cap
    this.transport.setActive(name);
    if (push) this.router?.show(name, { push: true });
    this.renderAll();
    this.updateFollow();
    this.rooms.closeDrawers();
    if (wide()) this.composer.focus();
  }

  /** Keeps the left set (stored only when it changed). */
  setLeft(left) {
    if (left === this.state.left) return;
    this.state.left = left;
    saveLeft(this.state.me, left);
  }

  /** Leaves a room: out of the list and the follow set; if it is on screen, another room opens. */
  async leaveRoom(name) {
    const { state } = this;
    if (!state.me || !isValidRoom(name)) return;
    const next = name === state.current ? roomAfterLeaving(state.shownRooms(), name, state.info?.default_room || 'general') : null;
    if (name === state.current && !next) {
      this.showTransient(`#${name} is your only room: open another one before leaving it.`);
      return;
    }
    this.setLeft(withLeft(state.left, name));
    if (next) {
      await this.openRoom(next);
      if (state.current !== name) return;
      this.setLeft(withoutLeft(state.left, name)); // could not open the other room: still here
    }
    this.rooms.render(state);
    this.updateFollow();
  }

  /* ------------------------------------------------------------ stream */

  onStreamState(st, detail = {}) {
    const { state } = this;
    if (st === 'connecting') {
      state.streamConnecting();
    } else if (st === 'open') {
      if (state.streamOpen()) this.messages.setBusy(true); // until the current room's first `ready`
    } else if (st === 'down') {
      this.messages.setBusy(false);
      state.streamDown(detail, Date.now());
    }
    this.renderConnection();
    this.renderNotice();
  }

  onStreamEvent({ event, data }) {
    if (!data || typeof data !== 'object') return;
    const { state } = this;
    switch (event) {
      case 'message':
        this.onMessage(data, { stream: true });
        break;
      case 'ready': {
        const { room, removed } = state.ready(data) || {};
        if (removed?.length) this.log.onPruned(room, removed);
        if (room?.name === state.current) {
          this.renderNotice();
          this.messages.setBusy(false);
          this.renderLoadOlder();
        }
        break;
      }
      case 'ended': // the server ended the session (banned, signed out, superseded); the transport stopped
        this.sessionEnded(data);
        break;
      case 'unread': {
        const room = state.setUnread(data);
        if (room) this.rooms.renderItem(state, room);
        break;
      }
      case 'presence':
      case 'join':
      case 'leave': {
        const room = state.presence(event, data);
        if (!room) break;
        this.rooms.renderItem(state, room);
        this.rooms.renderDms(state); // the other person of a DM is online if present anywhere
        if (room.name === state.current) {
          this.rooms.renderOnline(state);
          this.log.renderTyping(); // one who left stops typing
        }
        this.scheduleRoomsRefresh();
        break;
      }
      default:
        this.log.onEvent(event, data); // edit, delete, reaction, typing; others are ignored
    }
  }

  /** A stored message (`stream`: from the stream): shown once, replacing our pending entry; a replayed known one updates. */
  onMessage(msg, { stream = false } = {}) {
    const added = this.state.addMessage(msg, { stream });
    if (!added) return;
    const { room, fresh, updated, pending } = added;
    const onScreen = room.name === this.state.current;
    if (pending && onScreen) this.messages.removePending(pending.clientId);
    if (onScreen) this.log.renderTyping(); // its author stopped typing
    if (updated && onScreen) this.messages.replace(updated);
    if (!fresh) return;
    if (room.name !== this.state.current) {
      this.state.trim(room);
      return;
    }
    this.messages.append(msg, { forceScroll: Boolean(pending) });
    this.trimShown();
  }

  /**
   * The room on screen over the cap (cap-rules.js) while the reader is at
   * the bottom: its oldest messages go, from the state and the list. Called
   * after a new message and when the reader is back at the bottom.
   */
  trimShown() {
    const room = this.state.currentRoom;
    if (!room) return;
    const dropped = this.state.trim(room, { atBottom: this.messages.atBottom() });
    if (dropped) {
      this.messages.dropOldest(dropped);
      this.renderLoadOlder();
    }
  }

  async loadOlder() {
    const room = this.state.currentRoom;
    if (!room || room.loadingOlder || !room.messages.length) return;
    const epoch = this.epoch;
    const oldest = room.messages[0].id;
    room.loadingOlder = true; // no trimming meanwhile: the page joins `oldest`
    this.renderLoadOlder();
    try {
      const older = await this.transport.history(room.name, oldest, this.transport.pageSize);
      if (epoch !== this.epoch || room.messages[0]?.id !== oldest) return; // the room changed meanwhile: a page that may not join
      const fresh = this.state.addOlder(room, older);
      if (room.name === this.state.current) this.messages.prepend(fresh);
    } catch (err) {
      if (epoch !== this.epoch) return;
      if (err.kind === KINDS.unauthorized) {
        this.sessionEnded();
        return;
      }
      this.showTransient(`Could not load older messages: ${err.message}`);
    } finally {
      room.loadingOlder = false;
      if (epoch === this.epoch) this.renderLoadOlder();
      if (epoch === this.epoch && room.name === this.state.current) this.trimShown(); // the reader went back down meanwhile
      else if (epoch === this.epoch) this.state.trim(room); // another room is on screen now
    }
  }
}

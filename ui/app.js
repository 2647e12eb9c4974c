/**
 * app.js — the Hearth web client's UI logic (entry module of index.html).
 *
 * Owns: the screens (sign-in / chat), the state of every followed room
 * (messages deduplicated by id, unread counts, online nicks, the
 * missed-messages notice), the room list and the URL (`/r/{room}`), the
 * composer, the outbox flushing, and the connection indicator.
 *
 * It talks to the server only through the transport from transport.js
 * (never fetch), and renders the message list through messages-view.js.
 *
 * Event flow: one multi-room stream follows the current room plus every
 * room /api/rooms lists (at most 50). Its `message` events carry the cursor
 * kept in `state.cursor`; when the followed set changes, the stream is
 * reopened from that cursor. Messages the reader types go to the outbox
 * first (localStorage, with a fresh client id), are shown as pending, and are
 * posted one at a time, in order, while the stream is up; the stored message
 * replaces the pending entry (matched by client id) exactly once.
 *
 * In the desktop app (the transport has `desktop`, see transport-tauri.js)
 * desktop.js shows the home screen instead of the sign-in screen and opens
 * a saved room with `enterDesktopRoom`; the chat view then shows the rooms
 * of that room's server. There is no URL routing, and two transport
 * capabilities change the rest: `durableOutbox` (the transport keeps and
 * sends the outbox: pending entries come from it and its `onOutbox`
 * updates, still matched by client id; the localStorage outbox is not
 * used) and `unreadCounts` (unread counts come as `unread` events).
 */

import { $, h, recall, remember } from './dom.js';
import { charCount, isValidRoom, newClientId, suggestRoom } from './format.js';
import { MessageList } from './messages-view.js';
import { Outbox } from './outbox.js';
import { createTransport } from './transport.js';

const HISTORY_PAGE = 50; // "Load older" page size
const REPLAY = 50; // what the server replays per room on a fresh start
const MAX_FOLLOW = 50; // rooms per multi-room stream
const ROOMS_REFRESH_MS = 30_000;
const OFFLINE_AFTER_MS = 3_000;
const KEEP_OFFSCREEN = 300; // messages kept for rooms not on screen
const KEEP_ONSCREEN = 2_000; // messages kept for the room on screen
const SENT_GRACE_MS = 3_000; // wait this long for the stream to echo a post
const NOTICE_MS = 8_000;
const NEAR_LIMIT = 200;
const MISSED = 'You may have missed messages while disconnected.';
const SESSION_ENDED = 'Your session ended; please sign in again.';
const DESKTOP_SESSION_ENDED = 'The server no longer accepts your session: join the room again (with its current password).';
const NICK_KEY = 'hearth.nick';

/* ------------------------------------------------------------------ state */

class Room {
  constructor(name) {
    this.name = name;
    this.messages = []; // oldest first
    this.ids = new Set();
    this.online = null; // Set of nicks from the stream, null until presence
    this.apiOnline = 0; // count from GET /api/rooms
    this.unread = 0;
    this.primed = false; // had its first `ready`
    this.baselineId = undefined; // last_id when first listed (unread baseline)
    this.baselineFound = false;
    this.hasOlder = true;
    this.loadingOlder = false;
    this.notice = '';
  }

  add(msg) {
    if (this.ids.has(msg.id)) return false;
    this.messages.push(msg);
    this.ids.add(msg.id);
    return true;
  }

  /** Keeps the `keep` newest messages; returns how many were dropped. */
  trim(keep) {
    const extra = this.messages.length - keep;
    if (extra <= 0) return 0;
    for (const m of this.messages.splice(0, extra)) this.ids.delete(m.id);
    this.hasOlder = true;
    return extra;
  }

  get onlineCount() {
    return this.online ? this.online.size : this.apiOnline;
  }
}

const state = {
  epoch: 0, // bumped on sign-in/out: late async results of an old session are dropped
  info: null,
  me: null,
  current: null,
  rooms: new Map(),
  listed: [], // names from the last GET /api/rooms
  roomsLoaded: false, // the room list was read once this session
  followed: [], // names on the current stream
  followKey: '', // followed names + the current room: a change reopens the stream
  cursor: null,
  pending: [], // outbox entries of this session, with status, in order
  stream: { up: false, everUp: false, connecting: false, downSince: null, retryAt: 0, error: '' },
  conn: { readySeen: new Set(), replayCount: new Map(), hadMessages: new Set() },
  slowUntil: 0,
  transient: '',
  timers: { ticker: 0, roomsInterval: 0, roomsDebounce: 0, flush: 0, transient: 0 },
  flushing: false,
  postFailures: 0,
};

const outbox = new Outbox();
let transport = null;
let view = null;
let desktop = null; // the desktop app's home screen (desktop.js), in Tauri only
const roomItems = new Map(); // name -> li.room

function ensureRoom(name) {
  let room = state.rooms.get(name);
  if (!room) {
    room = new Room(name);
    state.rooms.set(name, room);
  }
  return room;
}

const currentRoom = () => (state.current ? ensureRoom(state.current) : null);

/* --------------------------------------------------------------- screens */

function showBootError(message) {
  const boot = $('#boot');
  boot.hidden = false;
  boot.textContent = message;
}

function applyInfo() {
  const info = state.info;
  const needsPassword = info?.auth === 'password';
  $('#password').hidden = !needsPassword;
  $('#password-label').hidden = !needsPassword;
  $('#signin-server').textContent = info?.name && info.name !== 'Hearth' ? `Server: ${info.name}` : '';
}

function showSignIn(message = '') {
  $('#boot').hidden = true;
  $('#app').hidden = true;
  $('#signin').hidden = false;
  applyInfo();
  $('#signin-error').textContent = message;
  const nick = $('#nick');
  if (!nick.value) nick.value = recall(NICK_KEY);
  if (!$('#signin').contains(document.activeElement)) {
    (nick.value && !$('#password').hidden ? $('#password') : nick).focus();
  }
  document.title = state.info?.name || 'Hearth';
  renderComposer();
}

function roomFromUrl() {
  const m = /^\/r\/([^/]+)\/?$/.exec(location.pathname);
  if (!m) return null;
  let name;
  try {
    name = decodeURIComponent(m[1]);
  } catch {
    return null;
  }
  return isValidRoom(name) ? name : null;
}

function roomPath(name) {
  return `/r/${name}`;
}

async function enterApp(nick, room = null) {
  resetSession();
  const epoch = state.epoch;
  state.me = nick;
  view.me = nick;
  remember(NICK_KEY, nick);
  state.pending = transport.durableOutbox ? [] : outbox.list(nick).map((e) => ({ ...e, status: 'waiting' }));
  $('#me').textContent = nick;
  $('#boot').hidden = true;
  $('#signin').hidden = true;
  $('#signin-error').textContent = '';
  $('#app').hidden = false;

  const fromUrl = room || roomFromUrl();
  state.current = fromUrl || state.info?.default_room || 'general';
  if (!transport.desktop && location.pathname !== roomPath(state.current)) {
    history.replaceState({ room: state.current }, '', roomPath(state.current));
  }
  renderAll();
  if (transport.durableOutbox) loadDurablePending();
  state.timers.ticker = setInterval(tick, 1000);
  state.timers.roomsInterval = setInterval(refreshRooms, ROOMS_REFRESH_MS);
  if (wide()) $('#composer-text').focus();

  await refreshRooms();
  if (epoch !== state.epoch) return;
  updateFollow(); // if the room list could not be read, follow the current room anyway
}

/** Forgets everything of the signed-in session (not the outbox). */
function resetSession() {
  state.epoch += 1;
  transport.close();
  for (const key of ['ticker', 'roomsInterval']) clearInterval(state.timers[key]);
  for (const key of ['roomsDebounce', 'flush', 'transient']) clearTimeout(state.timers[key]);
  state.me = null;
  state.current = null;
  state.rooms.clear();
  state.listed = [];
  state.roomsLoaded = false;
  state.followed = [];
  state.followKey = '';
  state.cursor = null;
  state.pending = [];
  state.stream = { up: false, everUp: false, connecting: false, downSince: null, retryAt: 0, error: '' };
  state.conn = { readySeen: new Set(), replayCount: new Map(), hadMessages: new Set() };
  state.slowUntil = 0;
  state.transient = '';
  state.flushing = false;
  state.postFailures = 0;
  roomItems.clear();
  $('#room-list').replaceChildren();
  $('#online').replaceChildren();
  view.clear();
  closeDrawers();
  renderNotice();
  renderConnection();
}

/** A 401 anywhere: back to the sign-in screen. */
function sessionEnded(message = SESSION_ENDED) {
  if (!state.me) return;
  if (desktop) {
    goHome(message === SESSION_ENDED ? DESKTOP_SESSION_ENDED : message);
    return;
  }
  resetSession();
  showSignIn(message);
}

/* ------------------------------------------------------------- rendering */

function wide() {
  return window.matchMedia('(min-width: 700px)').matches;
}

function renderAll() {
  renderRoomList();
  renderRoomHeader();
  renderMessages();
  renderOnline();
  renderNotice();
  renderComposer();
  renderConnection();
}

function renderRoomHeader() {
  $('#room-title').textContent = state.current || '';
  updateTitle();
}

function updateTitle() {
  let unread = 0;
  for (const room of state.rooms.values()) unread += room.unread;
  const base = state.info?.name || 'Hearth';
  const where = state.current ? `#${state.current} · ` : '';
  document.title = `${unread ? `(${unread}) ` : ''}${where}${base}`;
  const badge = $('#unread-total');
  badge.hidden = unread === 0;
  badge.textContent = unread ? String(unread) : '';
}

function createRoomItem(name) {
  const li = h('li', { class: 'room' });
  li.dataset.room = name;
  const link = h('a', { class: 'room-link', href: transport.desktop ? '#' : roomPath(name) },
    h('span', { class: 'room-name' }, name),
    h('span', { class: 'online-count', title: 'online' }, '0'),
    h('span', { class: 'unread', hidden: true }, '0'));
  link.addEventListener('click', (event) => {
    if (!transport.desktop && (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)) return;
    event.preventDefault();
    openRoom(name);
  });
  li.append(link);
  return li;
}

function updateRoomItem(li, room) {
  const current = room.name === state.current;
  if (current) li.setAttribute('aria-current', 'true');
  else li.removeAttribute('aria-current');
  const online = room.onlineCount;
  li.querySelector('.online-count').textContent = String(online);
  const unread = li.querySelector('.unread');
  unread.textContent = String(room.unread);
  unread.hidden = room.unread === 0;
  li.querySelector('.room-link').setAttribute('aria-label',
    `${room.name}, ${online} online${room.unread ? `, ${room.unread} unread` : ''}${current ? ' (current room)' : ''}`);
}

function renderRoomList() {
  const ul = $('#room-list');
  const names = new Set(state.listed);
  if (state.current) names.add(state.current);
  const sorted = [...names].sort();
  sorted.forEach((name, i) => {
    let li = roomItems.get(name);
    if (!li) {
      li = createRoomItem(name);
      roomItems.set(name, li);
    }
    updateRoomItem(li, ensureRoom(name));
    if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
  });
  for (const [name, li] of roomItems) {
    if (!names.has(name)) {
      li.remove();
      roomItems.delete(name);
    }
  }
  updateTitle();
}

function renderRoomItem(room) {
  const li = roomItems.get(room.name);
  if (li) updateRoomItem(li, room);
  else if (state.listed.includes(room.name)) renderRoomList();
  updateTitle();
}

function renderMessages() {
  const room = currentRoom();
  if (!room) {
    view.clear();
    return;
  }
  const pendings = state.pending.filter((p) => p.room === room.name).map(withStatusText);
  view.render(room.messages, pendings, `Messages in #${room.name}`);
  renderLoadOlder();
}

function renderLoadOlder() {
  const room = currentRoom();
  if (!room) return;
  view.setCanLoadOlder(room.hasOlder && room.messages.length > 0, room.loadingOlder);
}

function renderOnline() {
  const room = currentRoom();
  const nicks = room?.online ? [...room.online].sort((a, b) => a.localeCompare(b)) : [];
  $('#online').replaceChildren(...nicks.map((nick) => h('li', { class: nick === state.me ? 'me' : null }, nick)));
  $('#online-total').textContent = room ? String(room.onlineCount) : '';
}

let lastNotice = null;
function renderNotice() {
  const lines = [];
  const room = currentRoom();
  if (room?.notice) lines.push(room.notice);
  const s = state.stream;
  if (state.me && s.retryAt === null && s.error && !s.errorDismissed) lines.push(s.error); // not retrying: why
  const slowLeft = Math.ceil((state.slowUntil - Date.now()) / 1000);
  if (slowLeft > 0) lines.push(`Slow down: retrying in ${slowLeft} s`);
  if (state.transient) lines.push(state.transient);
  const key = lines.join('\n');
  if (key === lastNotice) return;
  lastNotice = key;
  const notice = $('#notice');
  notice.replaceChildren(...lines.map((line) => h('span', { class: 'notice-line' }, line)));
  notice.hidden = lines.length === 0;
  $('#notice-bar').hidden = lines.length === 0;
}

function showTransient(message) {
  state.transient = message;
  clearTimeout(state.timers.transient);
  state.timers.transient = setTimeout(() => {
    state.transient = '';
    renderNotice();
  }, NOTICE_MS);
  renderNotice();
}

function renderComposer() {
  let reason = '';
  if (!state.me) reason = 'Sign in to send messages.';
  else if (!state.current) reason = 'Choose a room to send messages.';
  const text = $('#composer-text');
  text.disabled = Boolean(reason);
  $('#send').disabled = Boolean(reason);
  $('#composer-reason').textContent = reason;
  text.placeholder = state.current ? `Message #${state.current}` : 'Message';
  renderCharCount();
}

function maxChars() {
  return state.info?.max_text_chars || 4000;
}

function renderCharCount() {
  const max = maxChars();
  const n = charCount($('#composer-text').value);
  const el = $('#char-count');
  el.hidden = n < max - NEAR_LIMIT;
  el.textContent = n > max ? `${n} / ${max} (${n - max} too many)` : `${n} / ${max}`;
  el.classList.toggle('over', n > max);
}

function connectionView() {
  const s = state.stream;
  const now = Date.now();
  if (!navigator.onLine) return ['offline', 'Offline: no network'];
  if (s.up) return ['connected', 'Connected'];
  if (s.retryAt === null) return ['offline', 'Offline']; // not retrying: the notice says why
  if (s.downSince === null) return ['reconnecting', 'Connecting…'];
  if (now - s.downSince < OFFLINE_AFTER_MS) return ['reconnecting', 'Reconnecting…'];
  const wait = Math.ceil((s.retryAt - now) / 1000);
  if (s.connecting || wait <= 0) return ['offline', 'Offline: reconnecting…'];
  return ['offline', `Offline: retrying in ${wait} s`];
}

let lastConn = '';
function renderConnection() {
  const [st, text] = state.me ? connectionView() : ['offline', 'Signed out'];
  const key = `${st}|${text}|${state.stream.error}`;
  if (key === lastConn) return;
  const changed = !lastConn.startsWith(`${st}|`);
  lastConn = key;
  const el = $('#connection');
  el.dataset.state = st;
  el.textContent = text;
  el.title = st === 'connected' ? '' : state.stream.error;
  // Presence shown while the stream is down may be out of date: dim it.
  $('#app').classList.toggle('stale', st !== 'connected');
  $('#reconnect-now').hidden = st !== 'offline' || !navigator.onLine || Boolean(transport.desktop);
  if (changed) renderPendingStatuses();
}

/** Once a second: countdowns and the 3-second offline threshold. */
function tick() {
  renderConnection();
  renderNotice();
}

/* ----------------------------------------------------------------- rooms */

async function refreshRooms() {
  const epoch = state.epoch;
  let list;
  try {
    list = await transport.rooms();
  } catch (err) {
    if (epoch !== state.epoch) return;
    if (err.status === 401) sessionEnded();
    return;
  }
  if (epoch !== state.epoch || !Array.isArray(list)) return;
  state.listed = list.map((r) => r.room).filter(isValidRoom);
  for (const r of list) {
    if (!isValidRoom(r.room)) continue;
    const room = ensureRoom(r.room);
    room.apiOnline = Number(r.online) || 0;
    // Unread baseline: what a room held when this session first listed it.
    // A room that appears later is new since then: all of it is unread.
    if (room.baselineId === undefined && !room.primed) {
      room.baselineId = state.roomsLoaded ? null : (r.last_id ?? null);
    }
  }
  state.roomsLoaded = true;
  renderRoomList();
  renderOnline();
  updateFollow();
}

function scheduleRoomsRefresh() {
  if (state.timers.roomsDebounce) return;
  state.timers.roomsDebounce = setTimeout(() => {
    state.timers.roomsDebounce = 0;
    refreshRooms();
  }, 1000);
}

function followSet() {
  const names = [];
  if (state.current) names.push(state.current);
  for (const name of state.listed) {
    if (names.length >= MAX_FOLLOW) break;
    if (name !== state.current) names.push(name);
  }
  return names.sort();
}

/** (Re)opens the stream if the set of rooms to follow changed. */
function updateFollow() {
  if (!state.me) return;
  const want = followSet();
  // The user is "in" the current room only; the others are followed for
  // unread counts. So a room switch reopens the stream too.
  const key = `${want.join(',')}|${state.current ?? ''}`;
  if (!want.length || key === state.followKey) return;
  state.followKey = key;
  state.followed = want;
  const epoch = state.epoch;
  const guard = (fn) => (...args) => {
    if (epoch === state.epoch) fn(...args);
  };
  transport.follow(want, state.cursor, {
    onEvent: guard(onStreamEvent),
    onState: guard(onStreamState),
    onAuthError: guard(() => sessionEnded()),
    onOutbox: guard(onOutboxEvent),
  }, state.current ? [state.current] : []);
}

function openRoom(name, options = {}) {
  if (!state.me || !isValidRoom(name)) return;
  if (transport.prepareRoom) {
    prepareThenShow(name); // the desktop app may have to join it first
    return;
  }
  showRoom(name, options);
}

/** Desktop: joins `name` on the current server if it is not saved yet, then shows it. */
async function prepareThenShow(name) {
  const epoch = state.epoch;
  let warning = null;
  try {
    warning = await transport.prepareRoom(name);
  } catch (err) {
    if (epoch === state.epoch) showTransient(`Could not open #${name}: ${err.message}`);
    return;
  }
  if (epoch !== state.epoch || !state.me) return;
  showRoom(name, { push: false });
  if (warning) showTransient(warning);
  scheduleRoomsRefresh();
}

function showRoom(name, { push = true } = {}) {
  view.setBusy(false);
  state.current = name;
  const room = ensureRoom(name);
  room.unread = 0;
  if (push && !transport.desktop && location.pathname !== roomPath(name)) {
    history.pushState({ room: name }, '', roomPath(name));
  }
  renderAll();
  updateFollow();
  closeDrawers();
  if (wide()) $('#composer-text').focus();
}

function onNewRoom(event) {
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
  openRoom(name);
}

/* ---------------------------------------------------------------- stream */

function onStreamState(st, detail = {}) {
  const s = state.stream;
  if (st !== 'down' && s.retryAt === null) s.retryAt = 0; // trying again after a final 'down'
  if (st === 'connecting') {
    s.connecting = true;
  } else if (st === 'open') {
    if (!s.everUp) view.setBusy(true); // until the current room's first `ready`
    const wasDown = !s.up;
    s.up = true;
    s.everUp = true;
    s.connecting = false;
    s.downSince = null;
    s.error = '';
    const conn = state.conn;
    conn.readySeen = new Set();
    conn.replayCount = new Map();
    conn.hadMessages = new Set([...state.rooms.values()].filter((r) => r.messages.length).map((r) => r.name));
    if (wasDown) {
      // Posts that failed on the network get another go now.
      for (const p of state.pending) if (p.retryReason === 'network') p.notBefore = 0;
      state.postFailures = 0;
    }
    flushOutbox();
  } else if (st === 'down') {
    view.setBusy(false);
    s.up = false;
    s.connecting = false;
    if (s.downSince === null) s.downSince = Date.now();
    s.retryAt = detail.final ? null : Date.now() + (detail.retryInMs || 0);
    s.error = detail.message || '';
    s.errorDismissed = false;
  }
  renderConnection();
  renderNotice();
}

function onStreamEvent({ event, data, id }) {
  if (id) state.cursor = id;
  if (!data || typeof data !== 'object') return;
  switch (event) {
    case 'message':
      onMessage(data);
      break;
    case 'ready':
      onReady(data);
      break;
    case 'unread': // from a transport with `unreadCounts` only
      onUnread(data);
      break;
    case 'presence':
      onPresence(data.room, new Set(Array.isArray(data.online) ? data.online.map(String) : []));
      break;
    case 'join':
    case 'leave': {
      if (!isValidRoom(data.room) || typeof data.nick !== 'string') break;
      const room = ensureRoom(data.room);
      const online = new Set(room.online || []);
      if (event === 'join') online.add(data.nick);
      else online.delete(data.nick);
      onPresence(data.room, online);
      break;
    }
    default:
      break; // unknown events are ignored
  }
}

function onUnread(data) {
  if (!isValidRoom(data.room)) return;
  const room = ensureRoom(data.room);
  room.unread = Math.max(0, Number(data.count) || 0);
  renderRoomItem(room);
}

function onPresence(name, online) {
  if (!isValidRoom(name)) return;
  const room = ensureRoom(name);
  room.online = online;
  renderRoomItem(room);
  if (name === state.current) renderOnline();
  scheduleRoomsRefresh();
}

function onMessage(msg) {
  if (typeof msg.id !== 'string' || !isValidRoom(msg.room)) return;
  const room = ensureRoom(msg.room);
  const conn = state.conn;
  if (!conn.readySeen.has(room.name)) {
    conn.replayCount.set(room.name, (conn.replayCount.get(room.name) || 0) + 1);
  }
  const own = msg.nick === state.me;
  // Our own post coming back: it replaces its pending entry.
  let wasPending = false;
  if (own && msg.client_id) {
    const entry = state.pending.find((p) => p.clientId === msg.client_id && p.room === room.name);
    if (entry) {
      wasPending = true;
      removePending(entry);
    }
  }
  const fresh = room.add(msg);
  if (fresh) {
    if (room.name === state.current) {
      view.append(msg, { forceScroll: wasPending });
      if (room.messages.length > KEEP_ONSCREEN + 200 && view.atBottom()) {
        view.dropOldest(room.trim(KEEP_ONSCREEN));
        renderLoadOlder();
      }
    } else {
      if (!own && !transport.unreadCounts && (room.primed || room.baselineFound || room.baselineId === null)) {
        room.unread += 1;
        renderRoomItem(room);
      }
      if (room.messages.length > KEEP_OFFSCREEN + 100) room.trim(KEEP_OFFSCREEN);
    }
  }
  if (!room.primed && room.baselineId === msg.id) room.baselineFound = true;
}

function onReady(data) {
  if (!isValidRoom(data.room)) return;
  const room = ensureRoom(data.room);
  const conn = state.conn;
  conn.readySeen.add(room.name);
  if (!data.resumed) {
    if (room.primed && conn.hadMessages.has(room.name)) {
      room.notice = MISSED;
      if (room.name === state.current) renderNotice();
    }
    // A fresh start replays the newest REPLAY messages: fewer means that
    // is all the room has.
    if ((conn.replayCount.get(room.name) || 0) < REPLAY) room.hasOlder = false;
  }
  room.primed = true;
  if (room.name === state.current) {
    view.setBusy(false);
    renderLoadOlder();
  }
}

/* --------------------------------------------------------------- history */

async function loadOlder() {
  const room = currentRoom();
  if (!room || room.loadingOlder || !room.messages.length) return;
  const epoch = state.epoch;
  room.loadingOlder = true;
  renderLoadOlder();
  try {
    const older = await transport.history(room.name, room.messages[0].id, HISTORY_PAGE);
    if (epoch !== state.epoch) return;
    const fresh = older.filter((m) => m && typeof m.id === 'string' && !room.ids.has(m.id));
    room.messages.unshift(...fresh);
    for (const m of fresh) room.ids.add(m.id);
    if (older.length < HISTORY_PAGE) room.hasOlder = false;
    if (room.name === state.current) view.prepend(fresh);
  } catch (err) {
    if (epoch !== state.epoch) return;
    if (err.status === 401) {
      sessionEnded();
      return;
    }
    showTransient(`Could not load older messages: ${err.message}`);
  } finally {
    room.loadingOlder = false;
    if (epoch === state.epoch) renderLoadOlder();
  }
}

/* ---------------------------------------------------------------- outbox */

function withStatusText(entry) {
  let statusText;
  if (entry.status === 'failed') statusText = `Not sent: ${entry.error}`;
  else if (entry.status === 'sending' || entry.status === 'sent') statusText = 'Sending…';
  else if (entry.retryReason === 'slow' && entry.notBefore > Date.now()) statusText = 'Waiting: sending too fast…';
  else if (!state.stream.up) statusText = 'Pending: will be sent when the connection is back';
  else statusText = 'Pending…';
  entry.statusText = statusText;
  return entry;
}

function renderPending(entry) {
  if (entry.room === state.current) view.updatePending(withStatusText(entry));
}

function renderPendingStatuses() {
  for (const entry of state.pending) renderPending(entry);
}

function removePending(entry) {
  state.pending = state.pending.filter((p) => p !== entry);
  if (!transport.durableOutbox) outbox.remove(entry.clientId);
  if (entry.room === state.current) view.removePending(entry.clientId);
}

function sendFromComposer() {
  const box = $('#composer-text');
  if (box.disabled || !state.me || !state.current) return;
  const text = box.value.trimEnd();
  if (!text) return;
  if (charCount(text) > maxChars()) {
    renderCharCount();
    $('#char-count').hidden = false;
    return;
  }
  if (transport.durableOutbox) {
    sendDurable(text);
    return;
  }
  const entry = {
    clientId: newClientId(),
    nick: state.me,
    room: state.current,
    text,
    createdAt: Date.now(),
    status: 'waiting',
  };
  outbox.add(entry);
  state.pending.push(entry);
  view.addPending(withStatusText(entry));
  box.value = '';
  renderCharCount();
  flushOutbox();
}

function scheduleFlush(ms) {
  clearTimeout(state.timers.flush);
  state.timers.flush = setTimeout(flushOutbox, Math.max(0, ms));
}

/**
 * Posts waiting entries one at a time, oldest first, while the stream is
 * up. Transient failures (network, 5xx, 429) keep the entry and its client
 * id for a later retry; other errors are shown on the entry.
 */
async function flushOutbox() {
  if (transport.durableOutbox || state.flushing || !state.me || !state.stream.up) return;
  const epoch = state.epoch;
  state.flushing = true;
  try {
    while (epoch === state.epoch && state.stream.up) {
      const entry = state.pending.find((p) => p.status === 'waiting');
      if (!entry) break;
      if (entry.notBefore && entry.notBefore > Date.now()) {
        scheduleFlush(entry.notBefore - Date.now());
        break;
      }
      entry.status = 'sending';
      renderPending(entry);
      let result;
      try {
        result = await transport.post(entry.room, entry.text, entry.clientId);
      } catch (err) {
        if (epoch !== state.epoch) return;
        if (err.status === 401) {
          sessionEnded();
          return;
        }
        if (!state.pending.includes(entry)) continue; // the stream delivered it meanwhile
        if (err.status === 429) {
          const wait = (err.retryAfter || 1) * 1000;
          entry.status = 'waiting';
          entry.retryReason = 'slow';
          entry.notBefore = Date.now() + wait;
          state.slowUntil = entry.notBefore;
          renderNotice();
          renderPending(entry);
          scheduleFlush(wait);
          break;
        }
        if (err.isTransient) {
          state.postFailures += 1;
          const wait = Math.max((err.retryAfter || 0) * 1000, Math.min(30_000, 1000 * 2 ** state.postFailures));
          entry.status = 'waiting';
          entry.retryReason = 'network';
          entry.notBefore = Date.now() + wait;
          renderPending(entry);
          scheduleFlush(wait);
          break;
        }
        // Refused for good (400, 404, 409, 413, ...): tell the reader.
        outbox.remove(entry.clientId);
        entry.status = 'failed';
        entry.error = err.message;
        renderPending(entry);
        continue;
      }
      if (epoch !== state.epoch) return;
      state.postFailures = 0;
      if (state.slowUntil) {
        state.slowUntil = 0;
        renderNotice();
      }
      outbox.remove(entry.clientId);
      if (!state.pending.includes(entry)) continue; // already replaced by the stream's copy
      entry.status = 'sent';
      entry.message = result.message;
      // The stream normally delivers it right away, in order with the
      // others; if it does not, show the server's answer.
      setTimeout(() => {
        if (epoch === state.epoch && state.pending.includes(entry) && entry.message) onMessage(entry.message);
      }, state.stream.up ? SENT_GRACE_MS : 0);
    }
  } finally {
    if (epoch === state.epoch) state.flushing = false;
  }
}

function discardPending(clientId) {
  const entry = state.pending.find((p) => p.clientId === clientId);
  if (!entry) return;
  removePending(entry);
  if (transport.durableOutbox) discardDurable(clientId);
}

function editPending(clientId) {
  const entry = state.pending.find((p) => p.clientId === clientId);
  if (!entry) return;
  removePending(entry);
  if (transport.durableOutbox) discardDurable(clientId);
  const box = $('#composer-text');
  box.value = entry.text;
  renderCharCount();
  box.focus();
}

/* ------------------------------------------- durable outbox (desktop app) */

/** Shows an entry of the transport's outbox, unless shown or delivered already. */
function addDurablePending(queued) {
  if (!queued || state.pending.some((p) => p.clientId === queued.clientId)) return;
  if (!isValidRoom(queued.room)) return;
  const room = ensureRoom(queued.room);
  if (room.messages.some((m) => m.client_id === queued.clientId)) return; // the stream was first
  let status = 'waiting';
  if (queued.failed) status = 'failed';
  else if (queued.sent) status = 'sent';
  const entry = {
    clientId: queued.clientId,
    nick: state.me,
    room: queued.room,
    text: queued.text,
    createdAt: queued.createdAt,
    status,
    error: queued.failed || '',
  };
  state.pending.push(entry);
  if (entry.room === state.current) view.addPending(withStatusText(entry));
  if (status === 'sent') recoverSentLater(entry);
}

/** The transport's outbox, on entering a room's server. */
async function loadDurablePending() {
  const epoch = state.epoch;
  let entries;
  try {
    entries = await transport.pending();
  } catch (err) {
    if (epoch === state.epoch) showTransient(`Could not read the messages waiting to be sent: ${err.message}`);
    return;
  }
  if (epoch !== state.epoch) return;
  for (const queued of entries) addDurablePending(queued);
}

/** Hands a message to the transport's outbox; it is shown once it is on disk. */
async function sendDurable(text) {
  const box = $('#composer-text');
  const epoch = state.epoch;
  const room = state.current;
  box.value = '';
  renderCharCount();
  let queued;
  try {
    queued = await transport.enqueue(room, text);
  } catch (err) {
    if (epoch !== state.epoch) return;
    if (!box.value) {
      box.value = text; // give it back: nothing was queued
      renderCharCount();
    }
    showTransient(`Not sent: ${err.message}`);
    return;
  }
  if (epoch === state.epoch) addDurablePending(queued);
}

/** Progress of a queued message: {clientId, room, state, messageId, error}. */
function onOutboxEvent(update) {
  const entry = state.pending.find((p) => p.clientId === update.clientId);
  if (!entry) return;
  if (update.state === 'failed') {
    entry.status = 'failed';
    entry.error = update.error || 'the server refused it';
    renderPending(entry);
  } else if (update.state === 'sent') {
    if (update.messageId && state.rooms.get(entry.room)?.ids.has(update.messageId)) {
      removePending(entry);
      return;
    }
    entry.status = 'sent';
    renderPending(entry);
    recoverSentLater(entry);
  }
}

/** Stored but not echoed by the stream in time: show it from the history. */
function recoverSentLater(entry) {
  const epoch = state.epoch;
  setTimeout(async () => {
    if (epoch !== state.epoch || !state.pending.includes(entry)) return;
    try {
      const recent = await transport.history(entry.room, null, HISTORY_PAGE);
      if (epoch !== state.epoch || !state.pending.includes(entry)) return;
      const found = recent.find((m) => m && m.client_id === entry.clientId && typeof m.id === 'string');
      if (found) onMessage(found);
    } catch {
      // the stream will bring it
    }
  }, SENT_GRACE_MS);
}

function discardDurable(clientId) {
  transport.discard(clientId).catch((err) => showTransient(`Could not discard the message: ${err.message}`));
}

/* --------------------------------------------------------------- drawers */

function setDrawer(which) {
  const app = $('#app');
  app.classList.toggle('show-rooms', which === 'rooms');
  app.classList.toggle('show-online', which === 'online');
  $('#toggle-rooms').setAttribute('aria-expanded', String(which === 'rooms'));
  $('#toggle-online').setAttribute('aria-expanded', String(which === 'online'));
  $('#scrim').hidden = !which;
  if (which === 'rooms') (document.querySelector('#room-list a[href]') || $('#new-room-name')).focus();
}

function closeDrawers() {
  const open = $('#app').classList.contains('show-rooms') || $('#app').classList.contains('show-online');
  setDrawer(null);
  return open;
}

/* ------------------------------------------------------------------ wire */

function bindUi() {
  view = new MessageList({
    scroller: $('#scroller'),
    list: $('#messages'),
    loadOlder: $('#load-older'),
    jumpNew: $('#jump-new'),
  }, {
    onLoadOlder: loadOlder,
    onDiscard: discardPending,
    onEdit: editPending,
  });

  $('#signin-form').addEventListener('submit', onSignIn);
  $('#signout').addEventListener('click', onSignOut);
  $('#new-room-form').addEventListener('submit', onNewRoom);
  $('#new-room-name').addEventListener('input', () => {
    $('#new-room-error').textContent = '';
    $('#new-room-name').removeAttribute('aria-invalid');
  });

  const box = $('#composer-text');
  $('#composer').addEventListener('submit', (event) => {
    event.preventDefault();
    sendFromComposer();
    box.focus();
  });
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing
        && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      sendFromComposer();
    }
  });
  box.addEventListener('input', renderCharCount);

  $('#notice-dismiss').addEventListener('click', () => {
    const room = currentRoom();
    if (room) room.notice = '';
    state.transient = '';
    state.stream.errorDismissed = true;
    renderNotice();
  });
  $('#reconnect-now').addEventListener('click', () => transport.reconnect());

  $('#toggle-rooms').addEventListener('click', () => setDrawer($('#app').classList.contains('show-rooms') ? null : 'rooms'));
  $('#toggle-online').addEventListener('click', () => setDrawer($('#app').classList.contains('show-online') ? null : 'online'));
  $('#scrim').addEventListener('click', () => closeDrawers());
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && closeDrawers()) $('#composer-text').focus();
  });

  window.addEventListener('popstate', () => {
    if (!state.me || transport.desktop) return;
    const name = roomFromUrl() || state.info?.default_room || 'general';
    if (name !== state.current) openRoom(name, { push: false });
  });
  window.addEventListener('online', renderConnection);
  window.addEventListener('offline', renderConnection);
}

async function onSignIn(event) {
  event.preventDefault();
  const nickInput = $('#nick');
  const errorEl = $('#signin-error');
  const nick = nickInput.value.trim();
  if (!nick) {
    errorEl.textContent = 'Type a nickname.';
    nickInput.focus();
    return;
  }
  if (charCount(nick) > 32) {
    errorEl.textContent = 'A nickname has at most 32 characters.';
    nickInput.focus();
    return;
  }
  const password = $('#password').hidden ? '' : $('#password').value;
  const button = $('#signin-submit');
  button.disabled = true;
  errorEl.textContent = '';
  try {
    const session = await transport.signIn(nick, password);
    $('#password').value = '';
    await enterApp(session.nick || nick);
  } catch (err) {
    if (err.status === 401 && $('#password').hidden) {
      // The server wants a password we did not know about.
      try {
        state.info = await transport.info();
      } catch {
        // keep what we had
      }
      applyInfo();
      $('#password').hidden = false;
      $('#password-label').hidden = false;
    }
    errorEl.textContent = err.isNetwork ? 'Cannot reach the server. Check the connection and try again.' : err.message;
    (err.status === 401 ? $('#password') : nickInput).focus();
  } finally {
    button.disabled = false;
  }
}

async function onSignOut() {
  const button = $('#signout');
  button.disabled = true;
  try {
    await transport.signOut();
  } catch (err) {
    if (err.isNetwork) {
      showTransient(`Could not sign out: ${err.message}`);
      return;
    }
  } finally {
    button.disabled = false;
  }
  resetSession();
  showSignIn('');
}

let bootTimer = 0;
async function boot() {
  clearTimeout(bootTimer);
  if (state.me) return;
  try {
    state.info = await transport.info();
    applyInfo();
    renderCharCount();
    const who = await transport.whoAmI();
    if (state.me) return; // signed in from the form meanwhile
    if (who && typeof who.nick === 'string') await enterApp(who.nick);
    else showSignIn('');
  } catch (err) {
    if (state.me) return;
    showSignIn(err.isNetwork ? 'Cannot reach the server; retrying…' : err.message);
    bootTimer = setTimeout(boot, 3000);
  }
}

/* ------------------------------------------------------------ desktop app */

/** Tauri: the home screen (desktop.js) instead of the sign-in screen. */
async function startDesktop() {
  $('#signout').hidden = true;
  $('#home').hidden = false;
  $('#home').addEventListener('click', () => goHome());
  try {
    const { startDesktopShell } = await import('./desktop.js');
    desktop = await startDesktopShell(transport, { open: enterDesktopRoom });
  } catch (err) {
    showBootError(`Hearth could not start: ${err.message}`);
  }
}

/** Opens a saved room (a RoomView of src-tauri) in the chat view. */
async function enterDesktopRoom(room, { notice = '' } = {}) {
  transport.bind(room);
  state.info = null;
  const entered = enterApp(room.nick, room.room);
  const epoch = state.epoch;
  $('#rooms .panel-title').textContent = room.hosted ? 'Rooms you host' : `Rooms on ${room.server.replace(/^https?:\/\//, '').replace(/\/$/, '')}`;
  if (notice) showTransient(notice);
  transport.info().then((info) => {
    if (epoch !== state.epoch || !info) return;
    state.info = info;
    renderCharCount();
    updateTitle();
  }, () => {});
  await entered;
}

/** Back to the home screen (the chat view's Home button, or a session that ended). */
function goHome(message = '') {
  if (!desktop) return;
  resetSession();
  $('#app').hidden = true;
  desktop.showHome(message);
}

function start() {
  try {
    transport = createTransport();
  } catch (err) {
    showBootError(err.message);
    return;
  }
  bindUi();
  renderComposer();
  if (transport.desktop) startDesktop();
  else boot();
}

start();

/**
 * desktop.js — the desktop app's own screen (Tauri only; app.js imports it
 * when the transport is the Tauri one).
 *
 * Owns: `#desktop-home`, the start screen: hosting a room (start/stop,
 * password, start on launch, the LAN links with copy buttons and the QR code
 * of the first link), joining a room by address, and the saved rooms (open,
 * forget, unread count, connection state). It also keeps the chat view's
 * `#home` badge (unread messages in rooms of other servers).
 *
 * It calls the Tauri commands through `transport.desktop` (DesktopCore in
 * transport-tauri.js), which also brings the Channel's events; opening a
 * room goes through app.js (`chat.open(roomView)`), which binds the
 * transport to that room's server and shows the chat view.
 *
 * The QR code (an SVG document made by Rust) is parsed with DOMParser and
 * imported as nodes, without scripts, handlers or links; nothing here uses
 * innerHTML.
 */

import { $, h, NICK_KEY, recall, remember } from './dom.js';
import { serverLabel } from './transport-tauri.js';

const COPIED_MS = 2000;
const CONFIRM_MS = 5000;
const LAUNCH_POLL_MS = 1000;
const LAUNCH_POLL_TRIES = 20;

let core = null;
let transport = null;
let chat = null;
let host = null; // the last HostStatus
let hostWarning = ''; // what host_start said went half-wrong
let hostBusy = false;
let launching = false; // start on launch asked for, not running yet
let hostRefreshTimer = 0;
let linksKey = '';
let probed = null; // {address, probe}: the last probe_server answer
let chatOpen = false;
const savedItems = new Map(); // room id -> li.saved-room

/* ------------------------------------------------------------------ home */

function setNotice(message) {
  const el = $('#desktop-notice');
  el.textContent = message || '';
  el.hidden = !message;
}

/** Shows the home screen (app.js has closed the chat view). */
function showHome(message = '', { refresh = true } = {}) {
  chatOpen = false;
  $('#boot').hidden = true;
  $('#signin').hidden = true;
  $('#app').hidden = true;
  $('#desktop-home').hidden = false;
  setNotice(message);
  document.title = 'Hearth';
  renderSaved();
  renderHomeBadge();
  if (!refresh) return;
  core.refreshSaved().catch(() => {});
  refreshHost();
}

/** Opens a saved room (a RoomView) in the chat view. */
async function openRoom(room, options = {}) {
  chatOpen = true;
  setNotice('');
  $('#desktop-home').hidden = true;
  try {
    await chat.open(room, options);
  } catch (err) {
    showHome(`Could not open #${room.room}: ${err.message}`);
    return;
  }
  renderHomeBadge();
}

/** The chat view's Home button counts unread messages elsewhere. */
function renderHomeBadge() {
  let unread = 0;
  if (chatOpen) {
    for (const room of core.savedRooms()) {
      if (!transport.isBound(room.id)) unread += room.unread || 0;
    }
  }
  const badge = $('#home-unread');
  badge.hidden = unread === 0;
  badge.textContent = unread ? String(unread) : '';
  $('#home').setAttribute('aria-label', unread ? `Home, ${unread} unread in other rooms` : 'Home');
}

/* ----------------------------------------------------------- saved rooms */

function connectionText(connection) {
  switch (connection?.state) {
    case 'connected':
      return ['connected', 'Connected', ''];
    case 'reconnecting':
      return ['reconnecting', 'Reconnecting…', connection.reason || ''];
    case 'offline':
      return ['offline', `Offline: ${connection.reason || 'not connected.'}`, connection.reason || ''];
    default:
      return ['connecting', 'Connecting…', ''];
  }
}

function createSavedItem(id) {
  const li = h('li', { class: 'saved-room', dataset: { roomId: id } });
  const open = h('button', { type: 'button', class: 'open-room primary' }, 'Open');
  const forget = h('button', { type: 'button', class: 'forget-room' }, 'Forget');
  open.addEventListener('click', () => openSaved(id));
  forget.addEventListener('click', () => forgetSaved(id, forget));
  li.append(
    h('div', { class: 'saved-room-main' },
      h('div', { class: 'saved-room-title' },
        h('span', { class: 'saved-room-name' }),
        h('span', { class: 'unread', hidden: true }, '0')),
      h('div', { class: 'saved-room-meta' },
        h('span', { class: 'saved-room-nick' }),
        h('span', { class: 'saved-room-state' }))),
    h('div', { class: 'saved-room-actions' }, open, forget),
  );
  return li;
}

function updateSavedItem(li, room) {
  const where = serverLabel(room);
  li.querySelector('.saved-room-name').textContent = `#${room.room} · ${where}`;
  li.querySelector('.saved-room-nick').textContent = `as ${room.nick}`;
  const unread = li.querySelector('.unread');
  const count = Number(room.unread) || 0;
  unread.hidden = count === 0;
  unread.textContent = String(count);
  unread.setAttribute('aria-label', `${count} unread`);
  const [state, text, reason] = connectionText(room.connection);
  const stateEl = li.querySelector('.saved-room-state');
  stateEl.dataset.state = state;
  stateEl.textContent = text;
  stateEl.title = reason;
  li.querySelector('.open-room').setAttribute('aria-label', `Open #${room.room} (${where})`);
  li.querySelector('.forget-room').setAttribute('aria-label', `Forget #${room.room} (${where})`);
}

function renderSaved() {
  const rooms = core.savedRooms();
  const ul = $('#saved-rooms');
  const ids = new Set(rooms.map((r) => r.id));
  rooms.forEach((room, i) => {
    let li = savedItems.get(room.id);
    if (!li) {
      li = createSavedItem(room.id);
      savedItems.set(room.id, li);
    }
    updateSavedItem(li, room);
    if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
  });
  for (const [id, li] of savedItems) {
    if (!ids.has(id)) {
      li.remove();
      savedItems.delete(id);
    }
  }
  $('#saved-empty').hidden = rooms.length > 0;
}

function renderSavedRoom(id) {
  const li = savedItems.get(id);
  const room = core.savedRooms().find((r) => r.id === id);
  if (li && room) updateSavedItem(li, room);
}

function openSaved(id) {
  const room = core.savedRooms().find((r) => r.id === id);
  if (room) openRoom(room);
  else setNotice('That room is not in your saved rooms any more.');
}

const confirmTimers = new WeakMap();

function resetForget(button) {
  clearTimeout(confirmTimers.get(button));
  delete button.dataset.confirm;
  button.classList.remove('danger');
  button.textContent = 'Forget';
}

/** Forgetting also drops the room's unsent messages: the first click asks. */
async function forgetSaved(id, button) {
  const room = core.savedRooms().find((r) => r.id === id);
  if (!room) return;
  if (button.dataset.confirm !== 'true') {
    button.dataset.confirm = 'true';
    button.classList.add('danger');
    button.textContent = 'Click again to forget';
    confirmTimers.set(button, setTimeout(() => resetForget(button), CONFIRM_MS));
    return;
  }
  resetForget(button);
  button.disabled = true;
  try {
    await core.invoke('forget_room', { roomId: id });
    setNotice(`Forgot #${room.room} (${serverLabel(room)}).`);
  } catch (err) {
    setNotice(`Could not forget #${room.room}: ${err.message}`);
  } finally {
    button.disabled = false;
  }
  await core.refreshSaved().catch(() => {});
  refreshHost();
}

/* --------------------------------------------------------------- hosting */

/** The SVG document Rust drew, as nodes of this page (no scripts, handlers or links). */
function qrNode(svgText, url) {
  let doc;
  try {
    doc = new DOMParser().parseFromString(String(svgText), 'image/svg+xml');
  } catch {
    return null;
  }
  const root = doc.documentElement;
  if (!root || root.localName !== 'svg' || doc.getElementsByTagName('parsererror').length) return null;
  for (const bad of root.querySelectorAll('script, foreignObject, a, use, image')) bad.remove();
  for (const el of [root, ...root.querySelectorAll('*')]) {
    for (const attr of [...el.attributes]) {
      if (/^on/i.test(attr.name) || attr.name === 'style' || /href$/i.test(attr.name)) el.removeAttribute(attr.name);
    }
  }
  const node = document.importNode(root, true);
  node.setAttribute('role', 'img');
  node.setAttribute('aria-label', `QR code of ${url}`);
  node.setAttribute('class', 'qr');
  return node;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // no clipboard API here: the old way
  }
  const area = h('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
  area.value = text;
  document.body.append(area);
  area.select();
  let done = false;
  try {
    done = document.execCommand('copy');
  } catch {
    done = false;
  }
  area.remove();
  return done;
}

async function copyLink(url, button) {
  const done = await copyText(url);
  button.textContent = done ? 'Copied' : 'Copy failed: select the link';
  button.classList.toggle('copied', done);
  clearTimeout(confirmTimers.get(button));
  confirmTimers.set(button, setTimeout(() => {
    button.textContent = 'Copy';
    button.classList.remove('copied');
  }, COPIED_MS));
}

function linkItem(link) {
  const url = String(link.url);
  const button = h('button', { type: 'button', class: 'copy-link' }, 'Copy');
  const a = h('a', { class: 'host-link', href: url, title: 'Click to copy' }, url);
  // The webview never navigates away: a click copies the link.
  a.addEventListener('click', (event) => {
    event.preventDefault();
    copyLink(url, button);
  });
  a.addEventListener('auxclick', (event) => event.preventDefault());
  button.addEventListener('click', () => copyLink(url, button));
  button.setAttribute('aria-label', `Copy ${url}`);
  return h('li', null, a, ' ', button, link.interface ? h('span', { class: 'muted link-if' }, ` ${link.interface}`) : null);
}

function renderHost(status) {
  if (status) host = status;
  const s = host || {};
  const running = Boolean(s.running);
  if (running) launching = false;
  const el = $('#host-status');
  el.dataset.running = String(running);
  el.dataset.password = String(Boolean(s.password_set));
  if (running && s.port) el.dataset.port = String(s.port);
  else delete el.dataset.port;
  const parts = [];
  if (running) {
    parts.push(h('span', null, `Hosting #${s.room || 'general'} on port ${s.port}${s.redis ? `, rooms on ${s.redis}` : ''}. `));
    if (s.password_set) {
      parts.push(h('span', null, 'A password is set: people need it to join.'));
    } else {
      parts.push(h('strong', { class: 'warning' }, 'No password: anyone on your network can join.'));
    }
  } else if (launching) {
    parts.push(h('span', null, 'Starting to host…'));
  } else {
    parts.push(h('span', null, 'Not hosting.'));
    if (s.start_on_launch) parts.push(h('span', null, ' Hosting starts when Hearth starts.'));
  }
  el.replaceChildren(...parts);

  $('#host-start').hidden = running;
  $('#host-stop').hidden = !running;
  $('#host-start').disabled = hostBusy || launching;
  $('#host-stop').disabled = hostBusy;
  for (const id of ['#host-nick', '#host-password', '#host-no-password', '#host-redis', '#host-https']) $(id).disabled = running || hostBusy;
  const https = $('#host-https');
  if (document.activeElement !== https) https.checked = Boolean(s.https);
  $('#host-fingerprint').textContent = s.fingerprint || '';
  $('#host-fingerprint-line').hidden = !running || !s.fingerprint;
  const redis = $('#host-redis');
  if (document.activeElement !== redis && !redis.dataset.edited) redis.value = s.redis || '';
  if (s.redis) $('#host-advanced').open = true;

  const nick = $('#host-nick');
  if (!nick.value && document.activeElement !== nick) nick.value = s.nick || 'host';
  const onLaunch = $('#host-on-launch');
  if (document.activeElement !== onLaunch) onLaunch.checked = Boolean(s.start_on_launch);
  $('#host-no-password-label').hidden = !s.password_set || running;
  $('#host-password-hint').textContent = s.password_set
    ? 'A password is kept in the system keychain: leave this empty to keep it, or type a new one.'
    : 'Leave it empty to let anyone on your network join.';

  const warning = $('#host-warning');
  warning.textContent = hostWarning;
  warning.hidden = !hostWarning;

  $('#host-share').hidden = !running;
  const links = running && Array.isArray(s.links) ? s.links : [];
  const key = links.map((l) => `${l.url} ${l.interface}`).join('\n');
  if (key !== linksKey) {
    linksKey = key;
    $('#host-links').replaceChildren(...links.map(linkItem));
    const qr = links.length ? qrNode(links[0].qr_svg, links[0].url) : null;
    $('#host-qr').replaceChildren(...(qr ? [qr] : []));
    $('#host-qr').hidden = !qr;
  }
  const noLinks = $('#host-no-links');
  noLinks.hidden = !running || links.length > 0;
  noLinks.textContent = running && !links.length
    ? `No network address found: only this computer can reach the room${s.local_url ? ` (${s.local_url})` : ''}.`
    : '';
  $('#host-open').hidden = !running || !s.room_id;
}

async function refreshHost() {
  try {
    renderHost(await core.invoke('host_status'));
  } catch (err) {
    $('#host-error').textContent = err.message;
  }
  return host;
}

function scheduleHostRefresh() {
  if (hostRefreshTimer) return;
  hostRefreshTimer = setTimeout(() => {
    hostRefreshTimer = 0;
    refreshHost();
  }, 300);
}

/** Start on launch: Rust starts hosting by itself, shortly after the window opens. */
async function waitForLaunchHosting() {
  launching = true;
  renderHost();
  for (let i = 0; i < LAUNCH_POLL_TRIES && launching; i++) {
    await new Promise((resolve) => setTimeout(resolve, LAUNCH_POLL_MS));
    if (!launching) return;
    const status = await refreshHost();
    if (status?.running) return;
  }
  if (launching) {
    launching = false;
    $('#host-error').textContent = 'Hosting did not start with Hearth. Press "Start hosting" to try again.';
    renderHost();
  }
}

function setHostBusy(busy) {
  hostBusy = busy;
  renderHost();
}

/**
 * The trimmed nick in `input`, or '' after showing why it will not do (the
 * server checks again; this only saves a round trip for the obvious cases).
 */
function checkedNick(input, error, emptyMessage) {
  const nick = input.value.trim();
  let problem = '';
  if (!nick) problem = emptyMessage;
  else if ([...nick].length > 32) problem = 'A nickname has at most 32 characters.';
  if (!problem) return nick;
  error.textContent = problem;
  input.focus();
  return '';
}

async function onHostStart(event) {
  event.preventDefault();
  if (hostBusy) return;
  const error = $('#host-error');
  const nickInput = $('#host-nick');
  const nick = checkedNick(nickInput, error, 'Type the nickname you will have in your room.');
  if (!nick) return;
  const args = { nick, startOnLaunch: $('#host-on-launch').checked, https: $('#host-https').checked };
  const password = $('#host-password').value;
  if (password) args.password = password; // the new password
  else if (!host?.password_set || $('#host-no-password').checked) args.password = ''; // none
  // else: no `password` = the one the keychain keeps
  const redisInput = $('#host-redis');
  const redis = redisInput.value.trim();
  // Unchanged (still the saved one, shown without its password): keep it.
  if (redis !== (host?.redis || '')) args.redis = redis;
  error.textContent = '';
  launching = false;
  setHostBusy(true);
  try {
    const status = await core.invoke('host_start', args);
    $('#host-password').value = '';
    $('#host-no-password').checked = false;
    delete redisInput.dataset.edited;
    hostWarning = status.warning || '';
    renderHost(status);
  } catch (err) {
    error.textContent = err.message;
  } finally {
    setHostBusy(false);
  }
  await core.refreshSaved().catch(() => {});
}

async function onHostStop() {
  if (hostBusy) return;
  $('#host-error').textContent = '';
  setHostBusy(true);
  try {
    hostWarning = '';
    renderHost(await core.invoke('host_stop'));
  } catch (err) {
    $('#host-error').textContent = err.message;
  } finally {
    setHostBusy(false);
  }
}

async function onHostOnLaunch() {
  const box = $('#host-on-launch');
  const wanted = box.checked;
  try {
    renderHost(await core.invoke('save_host_settings', { startOnLaunch: wanted }));
  } catch (err) {
    box.checked = !wanted;
    $('#host-error').textContent = err.message;
  }
}

async function onHostOpen() {
  const id = host?.room_id;
  let room = id ? core.savedRooms().find((r) => r.id === id) : null;
  if (!room && id) {
    await core.refreshSaved().catch(() => {});
    room = core.savedRooms().find((r) => r.id === id);
  }
  if (!room) {
    $('#host-error').textContent = 'Your room is not ready yet: stop and start hosting again.';
    return;
  }
  openRoom(room);
}

/* ------------------------------------------------------------------ join */

function showJoinFingerprint(show) {
  for (const id of ['#join-fingerprint', '#join-fingerprint-label', '#join-fingerprint-hint']) $(id).hidden = !show;
}

function showJoinPassword(show) {
  $('#join-password').hidden = !show;
  $('#join-password-label').hidden = !show;
  if (!show) $('#join-password').value = '';
}

/** Another saved room on this server as this nick: Rust shares its session, no password needed. */
function sharesSession(server, nick) {
  return core.savedRooms().some((r) => !r.hosted && r.server === server && r.nick === nick);
}

function setJoinBusy(busy) {
  const button = $('#join-submit');
  button.disabled = busy;
  button.textContent = busy ? 'Joining…' : 'Join';
}

async function onJoin(event) {
  event.preventDefault();
  if ($('#join-submit').disabled) return;
  const error = $('#join-error');
  const addressInput = $('#join-address');
  const nickInput = $('#join-nick');
  const passwordInput = $('#join-password');
  const address = addressInput.value.trim();
  const nick = nickInput.value.trim();
  const password = passwordInput.hidden ? '' : passwordInput.value;
  const fingerprintInput = $('#join-fingerprint');
  const fingerprint = fingerprintInput.hidden ? '' : fingerprintInput.value.trim();
  if (!address) {
    error.textContent = 'Paste the address of a room, like http://192.168.1.20:8989/r/general.';
    addressInput.focus();
    return;
  }
  if (!checkedNick(nickInput, error, 'Type a nickname.')) return;
  error.textContent = '';
  setJoinBusy(true);
  try {
    let probe = probed?.address === address && probed.fingerprint === fingerprint ? probed.probe : null;
    if (!probe) {
      const probeArgs = { address };
      if (fingerprint) probeArgs.fingerprint = fingerprint;
      probe = await core.invoke('probe_server', probeArgs);
      probed = { address, fingerprint, probe };
    }
    if (probe?.info?.auth === 'password' && !password && !sharesSession(probe.server, nick)) {
      showJoinPassword(true);
      error.textContent = 'This server needs a password: type it and press Join.';
      passwordInput.focus();
      return;
    }
    const args = { address, nick };
    if (password) args.password = password;
    if (fingerprint) args.fingerprint = fingerprint;
    const joined = await core.invoke('join_room', args);
    remember(NICK_KEY, nick);
    probed = null;
    showJoinPassword(false);
    showJoinFingerprint(false);
    fingerprintInput.value = '';
    addressInput.value = '';
    await core.refreshSaved().catch(() => {});
    const room = core.savedRooms().find((r) => r.id === joined.id) || joined;
    openRoom(room, { notice: joined.warning || '' });
  } catch (err) {
    if (err.kind === 'unauthorized') {
      showJoinPassword(true);
      passwordInput.focus();
    }
    // An https:// host whose certificate the system does not trust: offer
    // to pin the fingerprint the host shows.
    if (err.kind === 'certificate') {
      showJoinFingerprint(true);
      fingerprintInput.focus();
    }
    error.textContent = err.message;
  } finally {
    setJoinBusy(false);
  }
}

/* ----------------------------------------------------------------- start */

function onCoreEvent(ev) {
  if (ev.event === 'rooms') {
    renderSaved();
    renderHomeBadge();
    return;
  }
  if (ev.event !== 'connection' && ev.event !== 'unread') return;
  renderSavedRoom(ev.room_id);
  renderHomeBadge();
  if (ev.event === 'connection' && core.room(ev.room_id)?.hosted && !hostBusy) scheduleHostRefresh();
}

function bind() {
  $('#host-form').addEventListener('submit', onHostStart);
  $('#host-stop').addEventListener('click', onHostStop);
  $('#host-on-launch').addEventListener('change', onHostOnLaunch);
  $('#host-fingerprint-copy').addEventListener('click', () => copyLink($('#host-fingerprint').textContent, $('#host-fingerprint-copy')));
  $('#host-redis').addEventListener('input', () => {
    $('#host-redis').dataset.edited = 'true';
  });
  $('#host-open').addEventListener('click', onHostOpen);
  $('#join-form').addEventListener('submit', onJoin);
  $('#join-address').addEventListener('input', () => {
    probed = null;
    if ($('#join-password').value === '') showJoinPassword(false);
    $('#join-error').textContent = '';
  });
  core.listeners.add(onCoreEvent);
}

/**
 * Starts the desktop UI: attaches the event Channel (follow_rooms), reads
 * the saved rooms and the hosting status, and shows the home screen.
 * `chatApi.open(roomView, {notice})` opens a room in the chat view.
 * Returns {showHome(message)} for app.js.
 */
export async function startDesktopShell(desktopTransport, chatApi) {
  transport = desktopTransport;
  core = transport.desktop;
  chat = chatApi;
  bind();
  $('#join-nick').value = recall(NICK_KEY);
  let problem = '';
  try {
    await core.start();
  } catch (err) {
    problem = `Your rooms cannot be followed: ${err.message}`;
  }
  try {
    await core.refreshSaved();
  } catch (err) {
    problem ||= `Your saved rooms cannot be read: ${err.message}`;
  }
  await refreshHost();
  showHome(problem, { refresh: false });
  if (host?.start_on_launch && !host.running) waitForLaunchHosting();
  return { showHome };
}

/**
 * desktop.js — the desktop app's home screen (Tauri only; app.js imports it
 * when the transport is the Tauri one).
 *
 * Owns: `#desktop-home`, the start screen, and moving between it and the
 * chat view: `startDesktopShell(transport, {open})` shows it and returns
 * `{showHome(message)}`. Its three panels live in their own modules:
 * hosting (desktop-host.js), joining by address (desktop-join.js), the
 * saved rooms (desktop-saved.js) and the rooms on the LAN
 * (desktop-discovery.js). It also keeps the chat view's `#home`
 * badge (unread messages in rooms of other connections; Rust counts them).
 *
 * It calls the Tauri commands through `transport.desktop` (DesktopCore in
 * desktop-core.js), which also brings the home screen's Channel; opening
 * a room goes through app.js (`open(roomView)`), which binds the transport
 * to that room's connection and shows the chat view.
 */

import { $, NICK_KEY, recall } from './dom.js';
import { createNearbyList } from './desktop-discovery.js';
import { createHostPanel } from './desktop-host.js';
import { bindJoinForm } from './desktop-join.js';
import { createSavedRooms } from './desktop-saved.js';

/**
 * Starts the desktop UI: attaches the home screen's Channel
 * (follow_rooms), reads the saved rooms and the hosting status, and shows
 * the home screen. `chatApi.open(roomView, {notice})` opens a room in the
 * chat view. Returns {showHome(message)} for app.js.
 */
export async function startDesktopShell(transport, chatApi) {
  const core = transport.desktop;
  let chatOpen = false;

  function setNotice(message) {
    const el = $('#desktop-notice');
    el.textContent = message || '';
    el.hidden = !message;
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

  /** Opens a saved room (a RoomView) in the chat view. */
  async function openRoom(room, options = {}) {
    chatOpen = true;
    setNotice('');
    $('#desktop-home').hidden = true;
    try {
      await chatApi.open(room, options);
    } catch (err) {
      showHome(`Could not open #${room.room}: ${err.message}`);
      return;
    }
    renderHomeBadge();
  }

  const host = createHostPanel({ core, openRoom });
  const saved = createSavedRooms({ core, setNotice, openRoom, afterForget: () => host.refresh() });
  bindJoinForm({ core, openRoom });
  createNearbyList({ core }).start();

  /** Shows the home screen (app.js has closed the chat view). */
  function showHome(message = '', { refresh = true } = {}) {
    chatOpen = false;
    $('#boot').hidden = true;
    $('#signin').hidden = true;
    $('#app').hidden = true;
    $('#desktop-home').hidden = false;
    setNotice(message);
    document.title = 'Hearth';
    saved.render();
    renderHomeBadge();
    if (!refresh) return;
    core.refreshSaved().catch(() => {});
    host.refresh();
  }

  core.listeners.add((ev) => {
    if (ev.event === 'rooms') {
      saved.render();
      renderHomeBadge();
      return;
    }
    if (ev.event !== 'connection' && ev.event !== 'unread') return;
    saved.renderRoom(ev.room_id);
    renderHomeBadge();
    if (ev.event === 'connection' && core.room(ev.room_id)?.hosted) host.scheduleRefresh();
  });

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
  const status = await host.refresh();
  showHome(problem, { refresh: false });
  if (status?.start_on_launch && !status.running) host.waitForLaunch();
  return { showHome };
}

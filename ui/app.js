/**
 * app.js — the entry module of index.html: picks the shell.
 *
 * In a browser (the web transport) the web shell (signin-view.js) signs in
 * and shows the chat view (chat.js) with rooms in URLs. In the desktop app
 * (`transport.kind === 'tauri'`) desktop.js shows the home screen instead,
 * and opens a saved room in the chat view through `open(roomView,
 * {notice})` below: the transport is bound to that room's connection and
 * the chat view shows the rooms of its server, without URLs. This file is
 * the only UI code that looks at `transport.kind`.
 */

import { $ } from './dom.js';
import { Chat } from './chat.js';
import { endedSentence } from './ban-rules.js';
import { startWebShell } from './signin-view.js';
import { createTransport } from './transport.js';

const DESKTOP_SESSION_ENDED = 'The server no longer accepts your session: join the room again (with its current password).';

function showBootError(message) {
  const boot = $('#boot');
  boot.hidden = false;
  boot.textContent = message;
}

/** Tauri: the home screen (desktop.js) instead of the sign-in screen. */
async function startDesktop(transport) {
  let desktop = null; // {showHome(message)} from desktop.js
  /** Back to the home screen (the chat view's Home button, or a session that ended). */
  const goHome = (message = '') => {
    if (!desktop) return;
    chat.reset();
    $('#app').hidden = true;
    desktop.showHome(message);
  };
  const chat = new Chat(transport, {
    router: null,
    retryButton: true, // "Retry now": Rust's retry_now (it also reconnects by itself)
    onSessionEnded: (ended) => goHome(ended ? endedSentence(ended) : DESKTOP_SESSION_ENDED),
  });

  /** Opens a saved room (a RoomView of src-tauri) in the chat view. */
  async function open(room, { notice = '' } = {}) {
    transport.bind(room);
    chat.setInfo(null);
    const entered = chat.enter(room.nick, room.room);
    chat.setRoomsHeading(room.hosted ? 'Rooms you host' : `Rooms on ${room.server.replace(/^https?:\/\//, '').replace(/\/$/, '')}`);
    if (notice) chat.showTransient(notice);
    chat.refreshInfo();
    await entered;
  }

  $('#signout').hidden = true;
  $('#home').hidden = false;
  $('#home').addEventListener('click', () => goHome());
  try {
    const { startDesktopShell } = await import('./desktop.js');
    desktop = await startDesktopShell(transport, { open });
  } catch (err) {
    showBootError(`Hearth could not start: ${err.message}`);
  }
}

async function start() {
  let transport;
  try {
    transport = await createTransport();
  } catch (err) {
    showBootError(err.message);
    return;
  }
  if (transport.kind === 'tauri') startDesktop(transport);
  else startWebShell(transport);
}

start();

/**
 * app.js — the entry module of index.html: picks the shell.
 *
 * In a browser (the web transport) the web shell (signin-view.js) signs in
 * and shows the chat view (chat.js) with rooms in URLs. In the desktop app
 * (`transport.kind === 'tauri'`) desktop.js shows the home screen instead,
 * and opens a saved room in the chat view through `open(roomView,
 * {notice})` below: the transport is bound to that room's connection and
 * the chat view shows the rooms of its server, without URLs. This file is
 * the only UI code that looks at `transport.kind`. Each shell's modules
 * are loaded only where it runs (dynamic imports, all asked for at once).
 */

import { $ } from './dom.js';
import { endedSentence } from './ban-rules.js';
import { createTransport } from './transport.js';

// Every module a shell needs is asked for at once, in parallel (no waterfall),
// and only the shell's own: the app never parses the web's sign-in (nor,
// transport.js, the web transport); a browser never downloads desktop.js.
const inApp = typeof window !== 'undefined' && Boolean(window.__TAURI__);
const chatModule = import('./chat.js');
const shellModule = inApp ? import('./desktop.js') : import('./signin-view.js');
for (const loading of [chatModule, shellModule]) loading.catch(() => {}); // reported where awaited

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
  let Chat;
  try {
    ({ Chat } = await chatModule);
  } catch (err) {
    showBootError(`Hearth could not start: ${err.message}`);
    return;
  }
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
    const { startDesktopShell } = await shellModule;
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
  if (transport.kind === 'tauri') {
    startDesktop(transport);
    return;
  }
  try {
    const { startWebShell } = await shellModule;
    startWebShell(transport);
  } catch (err) {
    showBootError(`Hearth could not start: ${err.message}`);
  }
}

start();

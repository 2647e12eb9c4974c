/**
 * desktop-settings.js — the desktop around the app (Tauri only; injected by
 * Rust as an init script of the main window, src-tauri/src/platform/, so it
 * is a plain script, not a module, and the web client never runs it).
 *
 * Owns: the `watch_platform` channel: a `hearth://join` link fills the
 * join form and joins (`join`), a refused link says why in #join-error
 * (`link_refused`), the room of a notification opens (`open_room`); the
 * home screen's card section#desktop-settings (#keep-in-tray,
 * #start-at-login, #do-not-disturb: `save_desktop_settings`); a
 * button.mute-room[aria-pressed] on each saved room (`set_room_muted`).
 */
(() => {
  'use strict';
  if (window.__HEARTH_PLATFORM__) return;
  window.__HEARTH_PLATFORM__ = true;

  const $ = (css) => document.querySelector(css);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  let settings = null;

  const invoke = (cmd, args) => window.__TAURI__.core.invoke(cmd, args);

  /** Waits until `test()` is truthy (the app's shell builds the home screen). */
  async function until(test, ms = 60000) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const value = test();
      if (value) return value;
      await sleep(50);
    }
    return null;
  }

  /** Shows the home screen (leaving the chat view through its Home button). */
  async function goHome() {
    await until(() => !$('#desktop-home')?.hidden || ($('#app') && !$('#app').hidden));
    if ($('#desktop-home').hidden && $('#home') && !$('#home').hidden) $('#home').click();
    return until(() => !$('#desktop-home').hidden);
  }

  async function onEvent(ev) {
    if (ev.type === 'join') {
      await goHome();
      const error = $('#join-error');
      $('#join-address').value = ev.address;
      // A link's nick (`&nick=`) only fills an empty field: the nick last used wins.
      if (ev.nick && !$('#join-nick').value.trim()) $('#join-nick').value = ev.nick;
      if ($('#join-nick').value.trim()) {
        error.textContent = '';
        $('#join-form').requestSubmit();
      } else {
        error.textContent = `Type a nickname, then Join to open ${ev.address}.`;
        $('#join-nick').focus();
      }
    } else if (ev.type === 'link_refused') {
      await goHome();
      $('#join-error').textContent = ev.message;
    } else if (ev.type === 'open_room') {
      await goHome();
      const open = await until(() => $(`#saved-rooms li.saved-room[data-room-id="${CSS.escape(ev.room_id)}"] .open-room`), 5000);
      open?.click();
    }
  }

  function check(id, label, hint) {
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.id = id;
    input.setAttribute('role', 'switch');
    const row = document.createElement('label');
    row.className = 'check';
    row.append(input, ` ${label}`);
    if (hint) {
      const span = document.createElement('span');
      span.className = 'muted';
      span.id = `${id}-hint`;
      span.textContent = ` ${hint}`;
      row.append(span);
    }
    return { row, input };
  }

  function renderSettings() {
    if (!settings) return;
    $('#keep-in-tray').checked = settings.keep_in_tray;
    $('#keep-in-tray').disabled = !settings.tray_available;
    $('#keep-in-tray-hint').textContent = settings.tray_available
      ? ''
      : ' (this desktop shows no tray icons, so closing the window quits)';
    $('#start-at-login').checked = settings.start_at_login;
    $('#do-not-disturb').checked = settings.do_not_disturb;
    renderMutes();
  }

  function settingsCard() {
    const card = document.createElement('section');
    card.className = 'card';
    card.id = 'desktop-settings';
    const title = document.createElement('h2');
    title.textContent = 'This computer';
    const tray = check('keep-in-tray', 'Keep running in the tray when the window is closed', ' ');
    const login = check('start-at-login', 'Start Hearth when I log in');
    const dnd = check('do-not-disturb', 'Do not disturb (no notifications)');
    const error = document.createElement('p');
    error.className = 'error';
    error.id = 'desktop-settings-error';
    error.setAttribute('role', 'alert');
    const save = (key) => async (event) => {
      error.textContent = '';
      try {
        settings = await invoke('save_desktop_settings', { [key]: event.target.checked });
      } catch (err) {
        error.textContent = err.message || String(err);
      }
      renderSettings();
    };
    tray.input.addEventListener('change', save('keepInTray'));
    login.input.addEventListener('change', save('startAtLogin'));
    dnd.input.addEventListener('change', save('doNotDisturb'));
    const stack = document.createElement('div');
    stack.className = 'stack';
    stack.append(tray.row, login.row, dnd.row, error);
    card.append(title, stack);
    return card;
  }

  /** A Mute button on each saved room; the list is redrawn by desktop-saved.js. */
  function renderMutes() {
    if (!settings) return;
    for (const li of document.querySelectorAll('#saved-rooms li.saved-room[data-room-id]')) {
      let button = li.querySelector('button.mute-room');
      if (!button) {
        button = document.createElement('button');
        button.type = 'button';
        button.className = 'mute-room link-btn';
        button.addEventListener('click', async () => {
          const roomId = li.dataset.roomId;
          const muted = button.getAttribute('aria-pressed') !== 'true';
          try {
            await invoke('set_room_muted', { roomId, muted });
            settings = await invoke('desktop_settings');
          } catch (err) {
            $('#desktop-notice').textContent = err.message || String(err);
            $('#desktop-notice').hidden = false;
          }
          renderMutes();
        });
        li.append(button);
      }
      const muted = settings.muted_rooms.includes(li.dataset.roomId);
      // Only real changes: the observer sees this subtree.
      if (button.getAttribute('aria-pressed') === String(muted)) continue;
      button.setAttribute('aria-pressed', String(muted));
      button.textContent = muted ? 'Muted' : 'Mute';
      button.title = muted ? 'Notifications are off for this room' : 'Turn notifications off for this room';
    }
  }

  async function start() {
    if (!window.__TAURI__?.core) return;
    const channel = new window.__TAURI__.core.Channel();
    channel.onmessage = (ev) => { onEvent(ev).catch(() => {}); };
    await invoke('watch_platform', { onEvent: channel });
    const grid = await until(() => $('#desktop-home .home-grid'));
    if (!grid) return;
    grid.append(settingsCard());
    settings = await invoke('desktop_settings');
    renderSettings();
    new MutationObserver(renderMutes).observe($('#saved-rooms'), { childList: true, subtree: true });
    // The tray's "Do not disturb" changes the setting behind the page's back.
    window.addEventListener('focus', async () => {
      settings = await invoke('desktop_settings').catch(() => settings);
      renderSettings();
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', () => { start().catch(() => {}); }, { once: true });
  } else {
    start().catch(() => {});
  }
})();

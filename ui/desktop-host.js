/**
 * desktop-host.js — the home screen's "Host a room" panel (Tauri only).
 *
 * Owns: `#host-form` and what it shows: start/stop, nick, password (kept
 * in the system keychain by Rust), start on launch, HTTPS and its
 * certificate fingerprint, the advanced Redis address, and while hosting
 * the LAN links with copy buttons and the QR code of the first link (the
 * settings fold away while hosting, so links and code fit the window).
 *
 * Visibility on the network (`#host-visibility`): live from Rust
 * (`watch_host_visibility`, the server's mDNS state on a Channel): "Visible
 * on your network as …", "Visible on this machine only", or why not; the
 * switch (`set_host_visibility`) takes effect at once and is kept. When
 * discovery may not work, the text says why and the links stay the way in.
 *
 * The QR code (an SVG document made by Rust) is parsed with DOMParser and
 * imported as nodes, without scripts, handlers or links; nothing here uses
 * innerHTML.
 */

import { $, h } from './dom.js';
import { checkedNick, copyWithButton } from './desktop-forms.js';

const LAUNCH_POLL_MS = 1000;
const LAUNCH_POLL_TRIES = 20;

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

function linkItem(link) {
  const url = String(link.url);
  const button = h('button', { type: 'button', class: 'copy-link' }, 'Copy');
  const a = h('a', { class: 'host-link', href: url, title: 'Click to copy' }, url);
  // The webview never navigates away: a click copies the link.
  a.addEventListener('click', (event) => {
    event.preventDefault();
    copyWithButton(url, button);
  });
  a.addEventListener('auxclick', (event) => event.preventDefault());
  button.addEventListener('click', () => copyWithButton(url, button));
  button.setAttribute('aria-label', `Copy ${url}`);
  return h('li', null, a, ' ', button, link.interface ? h('span', { class: 'muted link-if' }, ` ${link.interface}`) : null);
}

/**
 * What the host screen says about visibility, from Rust's
 * `{visible, allowed, name, mdns: {state, …}}` and whether hosting runs.
 * Returns {state, text}; `state` is a word for `data-state`.
 */
export function visibilityText(view, running) {
  const name = view?.name || 'your room';
  const mdns = view?.mdns || { state: 'stopped' };
  const state = mdns.state || 'stopped';
  if (!running || state === 'stopped') {
    if (view && !view.allowed) return { state: 'off', text: 'Hosting will not be listed on your network (turned off for this run: HEARTH_MDNS=off).' };
    return view?.visible === false
      ? { state: 'off', text: 'Hosting will not be listed on your network: share a link instead.' }
      : { state: 'stopped', text: `When you host, people on your network see it as “${name}”.` };
  }
  switch (state) {
    case 'visible':
      return mdns.lan
        ? { state: 'visible', text: `Visible on your network as “${mdns.name || name}”.` }
        : { state: 'local', text: 'Visible on this machine only: no network yet. People can join with a link once this computer is on a network.' };
    case 'starting':
      return { state: 'starting', text: `Becoming visible on your network as “${name}”…` };
    case 'failed':
      return { state: 'failed', text: `Not visible on your network: ${mdns.reason}. People can still join with a link or the QR code below.` };
    case 'loopback':
      return { state: 'off', text: 'Not visible: the server listens on this computer only.' };
    default:
      return view && !view.allowed
        ? { state: 'off', text: 'Not visible on your network (turned off for this run: HEARTH_MDNS=off). Share a link or the QR code below.' }
        : { state: 'off', text: 'Not visible on your network: turned off. Share a link or the QR code below.' };
  }
}

/**
 * The hosting panel. `ctx`: {core (DesktopCore), openRoom(roomView)}.
 * Returns {refresh() -> HostStatus, scheduleRefresh(), status(), busy(),
 * waitForLaunch()}.
 */
export function createHostPanel(ctx) {
  const { core } = ctx;
  let host = null; // the last HostStatus
  let warningText = ''; // what host_start said went half-wrong
  let busy = false;
  let launching = false; // start on launch asked for, not running yet
  let refreshTimer = 0;
  let linksKey = '';
  let visibility = null; // the last VisibilityView from Rust

  function render(status) {
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

    $('#host-settings').hidden = running;
    renderVisibility();

    $('#host-start').hidden = running;
    $('#host-stop').hidden = !running;
    $('#host-start').disabled = busy || launching;
    $('#host-stop').disabled = busy;
    for (const id of ['#host-nick', '#host-password', '#host-no-password', '#host-redis', '#host-https']) $(id).disabled = running || busy;
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
    warning.textContent = warningText;
    warning.hidden = !warningText;

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

  function renderVisibility() {
    const { state, text } = visibilityText(visibility, Boolean(host?.running));
    const box = $('#host-visibility');
    box.dataset.state = state;
    $('#host-visibility-text').textContent = text;
    const toggle = $('#host-visible');
    toggle.checked = visibility ? Boolean(visibility.visible) : true;
    toggle.disabled = !visibility;
    // Under HEARTH_MDNS=off the switch could not do anything: the text says why.
    toggle.closest('label').hidden = Boolean(visibility && !visibility.allowed);
  }

  async function watchVisibility() {
    try {
      const channel = new core.tauri.core.Channel();
      channel.onmessage = (view) => {
        visibility = view;
        renderVisibility();
      };
      visibility = await core.invoke('watch_host_visibility', { onEvent: channel });
    } catch (err) {
      $('#host-error').textContent = err.message;
    }
    renderVisibility();
  }

  async function onVisibleChange() {
    const toggle = $('#host-visible');
    const wanted = toggle.checked;
    try {
      visibility = await core.invoke('set_host_visibility', { visible: wanted });
    } catch (err) {
      toggle.checked = !wanted;
      $('#host-error').textContent = err.message;
    }
    renderVisibility();
  }

  async function refresh() {
    try {
      render(await core.invoke('host_status'));
    } catch (err) {
      $('#host-error').textContent = err.message;
    }
    return host;
  }

  function scheduleRefresh() {
    if (refreshTimer || busy) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = 0;
      refresh();
    }, 300);
  }

  /** Start on launch: Rust starts hosting by itself, shortly after the window opens. */
  async function waitForLaunch() {
    launching = true;
    render();
    for (let i = 0; i < LAUNCH_POLL_TRIES && launching; i++) {
      await new Promise((resolve) => setTimeout(resolve, LAUNCH_POLL_MS));
      if (!launching) return;
      const status = await refresh();
      if (status?.running) return;
    }
    if (launching) {
      launching = false;
      $('#host-error').textContent = 'Hosting did not start with Hearth. Press "Start hosting" to try again.';
      render();
    }
  }

  function setBusy(value) {
    busy = value;
    render();
  }

  async function onStart(event) {
    event.preventDefault();
    if (busy) return;
    const error = $('#host-error');
    const nick = checkedNick($('#host-nick'), error, 'Type the nickname you will have in your room.');
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
    setBusy(true);
    try {
      const status = await core.invoke('host_start', args);
      $('#host-password').value = '';
      $('#host-no-password').checked = false;
      delete redisInput.dataset.edited;
      warningText = status.warning || '';
      render(status);
    } catch (err) {
      error.textContent = err.message;
    } finally {
      setBusy(false);
    }
    await core.refreshSaved().catch(() => {});
  }

  async function onStop() {
    if (busy) return;
    $('#host-error').textContent = '';
    setBusy(true);
    try {
      warningText = '';
      render(await core.invoke('host_stop'));
    } catch (err) {
      $('#host-error').textContent = err.message;
    } finally {
      setBusy(false);
    }
  }

  async function onLaunchChange() {
    const box = $('#host-on-launch');
    const wanted = box.checked;
    try {
      render(await core.invoke('save_host_settings', { startOnLaunch: wanted }));
    } catch (err) {
      box.checked = !wanted;
      $('#host-error').textContent = err.message;
    }
  }

  async function onOpen() {
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
    ctx.openRoom(room);
  }

  $('#host-form').addEventListener('submit', onStart);
  $('#host-stop').addEventListener('click', onStop);
  $('#host-on-launch').addEventListener('change', onLaunchChange);
  $('#host-fingerprint-copy').addEventListener('click', () => copyWithButton($('#host-fingerprint').textContent, $('#host-fingerprint-copy')));
  $('#host-redis').addEventListener('input', () => {
    $('#host-redis').dataset.edited = 'true';
  });
  $('#host-open').addEventListener('click', onOpen);
  $('#host-visible').addEventListener('change', onVisibleChange);
  watchVisibility();

  return { refresh, scheduleRefresh, status: () => host, waitForLaunch };
}

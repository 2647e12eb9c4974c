/**
 * desktop-discovery.js — the home screen's "On your network" list (Tauri
 * only): the Hearth servers other machines advertise on the LAN (mDNS),
 * found by Rust (src-tauri/src/discovery.rs), which leaves out the app's
 * own hosted room.
 *
 * Owns: `#nearby-list`, `#nearby-empty`, `#nearby-state`, the HTTPS
 * question `#nearby-confirm` and `#nearby-error`. `watch_nearby` answers
 * the list now and then sends `{event: "found", data: server}` (a repeated
 * id replaces the entry) or `{event: "lost", data: {id}}` on a Channel.
 *
 * Joining reuses the join form (desktop-join.js): a click fills its
 * address (the server's URL and room) and submits it when nothing more is
 * needed, or shows its password field. An https server's fingerprint is
 * never trusted silently: it is shown with "Does this match the host's
 * screen?", and only a "Yes" puts it in the form's fingerprint field (the
 * form pins it, as for a pasted one). A join from the list that fails asks
 * Rust to check the server again (`recheck_nearby`): a server that crashed
 * without saying goodbye leaves the list within seconds.
 */

import { $, h } from './dom.js';

const LOCK_SVG = 'M7 10V7a5 5 0 0 1 10 0v3';

function lockIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '14');
  svg.setAttribute('height', '14');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const arc = document.createElementNS(ns, 'path');
  arc.setAttribute('d', LOCK_SVG);
  arc.setAttribute('fill', 'none');
  arc.setAttribute('stroke', 'currentColor');
  arc.setAttribute('stroke-width', '2.2');
  arc.setAttribute('stroke-linecap', 'round');
  const body = document.createElementNS(ns, 'rect');
  for (const [k, v] of Object.entries({ x: '4.5', y: '10', width: '15', height: '11', rx: '2', fill: 'currentColor' })) {
    body.setAttribute(k, v);
  }
  svg.append(arc, body);
  return svg;
}

/** The join form's address for a listed server: its URL and room. */
export function joinAddress(server) {
  const base = String(server.url || '').replace(/\/+$/, '');
  return `${base}/r/${encodeURIComponent(server.room || 'general')}`;
}

/**
 * The "On your network" list. `ctx`: {core (DesktopCore)}. Returns
 * {start()}.
 */
export function createNearbyList(ctx) {
  const { core } = ctx;
  const servers = new Map(); // id -> DiscoveredServer
  let browsing = { state: 'on' };
  let asking = null; // the https server whose fingerprint is on screen
  let pending = null; // {id, observer}: a join from the list in progress

  function render() {
    const list = [...servers.values()].sort((a, b) =>
      String(a.name).localeCompare(String(b.name), undefined, { sensitivity: 'base' }));
    $('#nearby-list').replaceChildren(...list.map(item));
    $('#nearby-empty').hidden = list.length > 0 || browsing.state !== 'on';
    const state = $('#nearby-state');
    let text = '';
    if (browsing.state === 'off') text = 'Not looking for rooms on the network: turned off for this run (HEARTH_MDNS=off).';
    else if (browsing.state === 'failed') text = `Hearth cannot look for rooms on the network: ${browsing.reason}. Ask the host for a link.`;
    state.textContent = text;
    state.hidden = !text;
    if (asking && !servers.has(asking.id)) closeQuestion();
  }

  function item(server) {
    const name = String(server.name || server.url);
    const badges = [];
    if (server.auth_required) {
      badges.push(h('span', { class: 'nearby-lock', role: 'img', 'aria-label': 'Needs a password', title: 'Needs a password' }, lockIcon()));
    }
    if (server.tls) {
      badges.push(h('span', {
        class: 'nearby-tls',
        title: server.fingerprint ? `HTTPS, certificate fingerprint ${server.fingerprint}` : 'HTTPS',
      }, 'TLS'));
    }
    const join = h('button', { type: 'button', class: 'nearby-join', 'aria-label': `Join ${name}` }, 'Join');
    join.addEventListener('click', () => choose(server));
    return h('li', { class: 'nearby-server', dataset: { id: server.id, name } },
      h('span', { class: 'nearby-what' },
        h('span', { class: 'nearby-name' }, name), ...badges,
        h('span', { class: 'nearby-url muted' }, String(server.url || '').replace(/\/+$/, ''))),
      join);
  }

  function closeQuestion() {
    asking = null;
    $('#nearby-confirm').hidden = true;
  }

  /** A click on a listed server. */
  function choose(server) {
    $('#nearby-error').textContent = '';
    if (!server.tls) {
      closeQuestion();
      fillJoinForm(server, '');
      return;
    }
    if (!server.fingerprint) {
      // No fingerprint advertised: the person pastes the one the host shows.
      closeQuestion();
      fillJoinForm(server, null);
      return;
    }
    asking = server;
    $('#nearby-confirm-text').textContent = `“${server.name}” uses HTTPS with a certificate of its own. Its fingerprint (SHA-256):`;
    $('#nearby-confirm-fp').textContent = server.fingerprint;
    $('#nearby-confirm').hidden = false;
    $('#nearby-confirm-yes').focus();
  }

  /**
   * Fills the join form for `server` and submits it when nothing else is
   * needed. `fingerprint`: '' for http, a confirmed one, or null (ask for
   * it in the form).
   */
  function fillJoinForm(server, fingerprint) {
    const address = $('#join-address');
    address.value = joinAddress(server);
    address.dispatchEvent(new Event('input', { bubbles: true }));
    const fp = $('#join-fingerprint');
    const showFp = fingerprint !== '';
    for (const id of ['#join-fingerprint', '#join-fingerprint-label', '#join-fingerprint-hint']) $(id).hidden = !showFp;
    fp.value = fingerprint || '';
    const error = $('#join-error');
    if (fingerprint === null) {
      error.textContent = `“${server.name}” did not say its certificate's fingerprint: paste the one the host's screen shows.`;
      fp.focus();
      return;
    }
    if (server.auth_required) {
      $('#join-password').hidden = false;
      $('#join-password-label').hidden = false;
      error.textContent = `“${server.name}” needs a password: type it and press Join.`;
      $('#join-password').focus();
      watchJoin(server);
      return;
    }
    const nick = $('#join-nick');
    if (!nick.value.trim()) {
      error.textContent = 'Type a nickname, then press Join.';
      nick.focus();
      watchJoin(server);
      return;
    }
    watchJoin(server);
    $('#join-form').requestSubmit();
  }

  /** A join from the list that fails: Rust asks the server again. */
  function watchJoin(server) {
    pending?.observer.disconnect();
    const error = $('#join-error');
    const before = error.textContent;
    const observer = new MutationObserver(() => {
      const text = error.textContent;
      if (!text || text === before) return;
      if ($('#join-address').value !== joinAddress(server)) return;
      observer.disconnect();
      pending = null;
      core.invoke('recheck_nearby', { id: server.id }).catch(() => {});
    });
    observer.observe(error, { childList: true, characterData: true, subtree: true });
    pending = { id: server.id, observer };
  }

  function onEvent(message) {
    if (message?.event === 'found' && message.data?.id) servers.set(message.data.id, message.data);
    else if (message?.event === 'lost' && message.data?.id) servers.delete(message.data.id);
    else return;
    render();
  }

  $('#nearby-confirm-yes').addEventListener('click', () => {
    const server = asking;
    closeQuestion();
    if (server) fillJoinForm(server, server.fingerprint);
  });
  $('#nearby-confirm-no').addEventListener('click', () => {
    closeQuestion();
    $('#nearby-error').textContent = 'Not joined: a fingerprint that does not match may be someone else pretending to be this room. Ask the host.';
  });

  async function start() {
    render();
    // Changes come after the list Rust answers with: hold them until then.
    let early = [];
    try {
      const channel = new core.tauri.core.Channel();
      channel.onmessage = (message) => (early ? early.push(message) : onEvent(message));
      const status = await core.invoke('watch_nearby', { onEvent: channel });
      browsing = status?.browsing || browsing;
      for (const server of status?.servers || []) servers.set(server.id, server);
    } catch (err) {
      browsing = { state: 'failed', reason: err.message };
    }
    const held = early;
    early = null;
    for (const message of held) onEvent(message);
    render();
  }

  return { start };
}

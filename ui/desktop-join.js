/**
 * desktop-join.js — the home screen's "Join a room" form (Tauri only).
 *
 * Owns: `#join-form`: `join_room` (Rust reads the server's info, signs in
 * and saves the room), then the room opens. The password field appears
 * when Rust says one is needed (kind `unauthorized`: no saved room of this
 * server and nick has a session or a password to share), the fingerprint
 * field when an https:// host's certificate is not trusted (kind
 * `certificate`).
 */

import { $, NICK_KEY, remember } from './dom.js';
import { checkedNick } from './desktop-forms.js';
import { KINDS } from './transport-error.js';

/**
 * Wires the join form. `ctx`: {core (DesktopCore), openRoom(roomView,
 * {notice})}.
 */
export function bindJoinForm(ctx) {
  const { core } = ctx;

  function showFingerprint(show) {
    for (const id of ['#join-fingerprint', '#join-fingerprint-label', '#join-fingerprint-hint']) $(id).hidden = !show;
  }

  function showPassword(show) {
    $('#join-password').hidden = !show;
    $('#join-password-label').hidden = !show;
    if (!show) $('#join-password').value = '';
  }

  function setBusy(busy) {
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
    setBusy(true);
    try {
      const args = { address, nick };
      if (password) args.password = password;
      if (fingerprint) args.fingerprint = fingerprint;
      const joined = await core.invoke('join_room', args);
      remember(NICK_KEY, nick);
      showPassword(false);
      showFingerprint(false);
      fingerprintInput.value = '';
      addressInput.value = '';
      await core.refreshSaved().catch(() => {});
      const room = core.savedRooms().find((r) => r.id === joined.id) || joined;
      ctx.openRoom(room, { notice: joined.warning || '' });
    } catch (err) {
      if (err.kind === KINDS.unauthorized) {
        showPassword(true);
        passwordInput.focus();
        // Rust joins without one when this nick already has a session there.
        if (!password) {
          error.textContent = 'This server needs a password: type it and press Join.';
          return;
        }
      }
      // An https:// host whose certificate the system does not trust: offer
      // to pin the fingerprint the host shows.
      if (err.kind === KINDS.certificate) {
        showFingerprint(true);
        fingerprintInput.focus();
      }
      error.textContent = err.message;
    } finally {
      setBusy(false);
    }
  }

  $('#join-form').addEventListener('submit', onJoin);
  $('#join-address').addEventListener('input', () => {
    if ($('#join-password').value === '') showPassword(false);
    $('#join-error').textContent = '';
  });
}

/**
 * desktop-join.js — the home screen's "Join a room" form (Tauri only).
 *
 * Owns: `#join-form`: the pasted address is probed (`probe_server`), the
 * password field appears when the server needs one (unless another saved
 * room shares the session), the fingerprint field when an https:// host's
 * certificate is not trusted (kind `certificate`); then `join_room` saves
 * the room and it opens.
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
  let probed = null; // {address, fingerprint, probe}: the last probe_server answer

  function showFingerprint(show) {
    for (const id of ['#join-fingerprint', '#join-fingerprint-label', '#join-fingerprint-hint']) $(id).hidden = !show;
  }

  function showPassword(show) {
    $('#join-password').hidden = !show;
    $('#join-password-label').hidden = !show;
    if (!show) $('#join-password').value = '';
  }

  /** Another saved room on this server as this nick: Rust shares its session, no password needed. */
  function sharesSession(server, nick) {
    return core.savedRooms().some((r) => !r.hosted && r.server === server && r.nick === nick);
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
      let probe = probed?.address === address && probed.fingerprint === fingerprint ? probed.probe : null;
      if (!probe) {
        const probeArgs = { address };
        if (fingerprint) probeArgs.fingerprint = fingerprint;
        probe = await core.invoke('probe_server', probeArgs);
        probed = { address, fingerprint, probe };
      }
      if (probe?.info?.auth === 'password' && !password && !sharesSession(probe.server, nick)) {
        showPassword(true);
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
    probed = null;
    if ($('#join-password').value === '') showPassword(false);
    $('#join-error').textContent = '';
  });
}

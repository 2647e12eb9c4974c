/**
 * desktop-join.js — the home screen's "Join a room" form (Tauri only).
 *
 * Owns: `#join-form`: `join_room` (Rust reads the server's info, signs in
 * and saves the room), then the room opens. The password field appears
 * when Rust says one is needed (kind `unauthorized`: no saved room of this
 * server and nick has a session or a password to share), the fingerprint
 * field when an https:// host's certificate is not trusted (kind
 * `certificate`).
 *
 * Protected nicks: Rust signs the nick in with the nick password it keeps
 * (or makes) for that server. A nick someone else protected (reason
 * `nick_protected`) is said in a sentence, with "Pick another nick" and a
 * field for that nick's password, for a person who has it from another
 * device (`#join-nick-password`, made here, sent as `nickPassword`).
 *
 * Errors are Rust's sentences as they come (src-tauri/src/error.rs words
 * them: "That is not a web address…", "Nothing answers at …"); one goes
 * away when the address or nick is edited, a join succeeds, or the home
 * screen is left.
 */

import { $, NICK_KEY, h, remember } from './dom.js';
import { checkedNick } from './desktop-forms.js';
import { KINDS } from './transport-error.js';

/**
 * Wires the join form. `ctx`: {core (DesktopCore), openRoom(roomView,
 * {notice})}.
 */
export function bindJoinForm(ctx) {
  const { core } = ctx;
  const nickPassword = nickPasswordFields();

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
    const typedNickPassword = nickPassword.value();
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
      if (typedNickPassword) args.nickPassword = typedNickPassword;
      const joined = await core.invoke('join_room', args);
      remember(NICK_KEY, nick);
      nickPassword.show(false);
      showPassword(false);
      showFingerprint(false);
      fingerprintInput.value = '';
      addressInput.value = '';
      await core.refreshSaved().catch(() => {});
      const room = core.savedRooms().find((r) => r.id === joined.id) || joined;
      ctx.openRoom(room, { notice: joined.warning || '' });
    } catch (err) {
      if (err.reason === 'nick_protected') {
        // Someone else's nick (or the person's, protected elsewhere):
        // say so, and offer another nick or that nick's password.
        nickPassword.show(true);
        error.textContent = err.message;
        return;
      }
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

  /**
   * The nick-password row, made once and kept hidden until a nick is
   * refused as protected: the field, and "Pick another nick".
   */
  function nickPasswordFields() {
    const label = h('label', { for: 'join-nick-password', id: 'join-nick-password-label', hidden: true },
      'Nick password ', h('span', { class: 'muted' }, '(if this nick is yours)'));
    const input = h('input', {
      id: 'join-nick-password', name: 'join-nick-password', type: 'password',
      autocomplete: 'current-password', minlength: '8', maxlength: '128', hidden: true,
    });
    const other = h('button', { type: 'button', id: 'join-other-nick', hidden: true }, 'Pick another nick');
    other.addEventListener('click', () => {
      show(false);
      $('#join-error').textContent = '';
      const nick = $('#join-nick');
      nick.focus();
      nick.select();
    });
    $('#join-nick').after(label, input, other);
    function show(on) {
      label.hidden = !on;
      input.hidden = !on;
      other.hidden = !on;
      if (!on) input.value = '';
    }
    return { show, value: () => (input.hidden ? '' : input.value) };
  }

  $('#join-form').addEventListener('submit', onJoin);
  $('#join-nick').addEventListener('input', () => {
    nickPassword.show(false);
    $('#join-error').textContent = '';
  });
  // An old error does not wait on the home screen for the next visit.
  new MutationObserver(() => {
    if ($('#desktop-home').hidden) $('#join-error').textContent = '';
  }).observe($('#desktop-home'), { attributes: true, attributeFilter: ['hidden'] });
  $('#join-address').addEventListener('input', () => {
    if ($('#join-password').value === '') showPassword(false);
    $('#join-error').textContent = '';
  });
}

/**
 * signin-view.js — the web shell: boot, the sign-in screen, sign-out.
 *
 * Owns: `#signin` (`#signin-form`, `#nick`, `#password` shown when the
 * server wants one, `#signin-error`, `#signin-server`; with the "nicks"
 * feature also `#protect-nick`, a "Protect this nick" checkbox, and
 * `#nick-password`, shown when it is ticked or when the server refused the
 * nick as protected — both made here; then `#pick-another-nick` clears
 * the refusal and puts the caret in the nick field), `#boot` while
 * starting, and the chat view's `#signout`. At boot it reads the server's
 * info and the session: a valid session goes straight to the chat view
 * (chat.js, with rooms in URLs), otherwise the sign-in screen shows; an
 * ended session comes back here with a sentence saying so (signed out
 * elsewhere, superseded: ban-rules.js's `endedSentence`); a banned one
 * shows the banned screen instead (ban-banner.js), as does a banned
 * session found at boot. A sign-in refused as banned says why and until
 * when. `#open-in-app` is a `hearth://join` link to this room, for people
 * who have the desktop app.
 */

import { $, NICK_KEY, recall } from './dom.js';
import { charCount } from './format.js';
import { Chat } from './chat.js';
import { BanBanner } from './ban-banner.js';
import { banFromError, bannedSentence, endedSentence } from './ban-rules.js';
import { urlRouter } from './router.js';
import { KINDS } from './transport-error.js';
import { nickPasswordProblem, protectedNickSentence } from './nick-rules.js';

const SESSION_ENDED = 'Your session ended; please sign in again.';
const BOOT_RETRY_MS = 3_000;
const MAX_NICK_CHARS = 32;

/** The desktop app's link that joins `room` on the server at `origin`. */
export function appLink(origin, room) {
  return `hearth://join?url=${encodeURIComponent(`${origin}/`)}&room=${encodeURIComponent(room)}`;
}

/** Starts the web client on `transport` (the web transport). */
export function startWebShell(transport) {
  let info = null;
  let bootTimer = 0;
  /** The nick the server last refused as protected ('' when none): its nick password is asked for. */
  let protectedNick = '';
  addNickPasswordFields();
  const chat = new Chat(transport, {
    router: urlRouter,
    retryButton: true,
    onSessionEnded: (ended) => {
      chat.reset();
      if (ended?.reason === 'banned') banner.show(ended);
      else showSignIn(ended ? endedSentence(ended) : SESSION_ENDED);
    },
  });
  const banner = new BanBanner({ onSignIn: () => showSignIn('') });

  function applyInfo() {
    $('#open-in-app').href = appLink(location.origin, urlRouter.room() ?? info?.default_room ?? 'general');
    const needsPassword = info?.auth === 'password';
    $('#password').hidden = !needsPassword;
    $('#password-label').hidden = !needsPassword;
    $('#signin-server').textContent = info?.name && info.name !== 'Hearth' ? `Server: ${info.name}` : '';
    applyNickPassword();
  }

  /** Shows the checkbox with the "nicks" feature, and the nick-password field when it is wanted. */
  function applyNickPassword() {
    const nicks = Array.isArray(info?.features) && info.features.includes('nicks');
    const asked = protectedNick !== '';
    $('#protect-nick-label').hidden = !nicks || asked;
    const shown = asked || (nicks && $('#protect-nick').checked);
    $('#nick-password').hidden = !shown;
    $('#nick-password-label').hidden = !shown;
    $('#nick-password').autocomplete = asked ? 'current-password' : 'new-password';
    $('#nick-password-label').textContent = asked ? `Nick password for ${protectedNick}` : 'Nick password (8 to 128 characters)';
    $('#pick-another-nick').hidden = !asked;
  }

  /** "Pick another nick": the refusal goes, the caret goes to the nick field (its text selected). */
  function pickAnotherNick() {
    protectedNick = '';
    $('#nick-password').value = '';
    applyNickPassword();
    $('#signin-error').textContent = '';
    const nick = $('#nick');
    nick.focus();
    nick.select();
  }

  /** Picking another nick than the refused one stops asking for its nick password. */
  function onNickInput() {
    if (protectedNick && $('#nick').value.trim() !== protectedNick) {
      protectedNick = '';
      $('#nick-password').value = '';
      applyNickPassword();
    }
  }

  function showSignIn(message = '') {
    $('#boot').hidden = true;
    $('#app').hidden = true;
    banner.hide();
    $('#signin').hidden = false;
    applyInfo();
    $('#signin-error').textContent = message;
    const nick = $('#nick');
    if (!nick.value) nick.value = recall(NICK_KEY);
    if (!$('#signin').contains(document.activeElement)) {
      (nick.value && !$('#password').hidden ? $('#password') : nick).focus();
    }
    document.title = info?.name || 'Hearth';
  }

  /** The chat view as `nick`; `session`: what signIn / whoAmI said ({protected, admin}). */
  async function enter(nick, session) {
    $('#signin').hidden = true;
    banner.hide();
    $('#signin-error').textContent = '';
    await chat.enter(nick, null, session);
  }

  async function onSignIn(event) {
    event.preventDefault();
    const nickInput = $('#nick');
    const errorEl = $('#signin-error');
    const nick = nickInput.value.trim();
    if (!nick) {
      errorEl.textContent = 'Type a nickname.';
      nickInput.focus();
      return;
    }
    if (charCount(nick) > MAX_NICK_CHARS) {
      errorEl.textContent = `A nickname has at most ${MAX_NICK_CHARS} characters.`;
      nickInput.focus();
      return;
    }
    const nickPasswordInput = $('#nick-password');
    const nickPassword = nickPasswordInput.hidden ? '' : nickPasswordInput.value;
    if (!nickPasswordInput.hidden) {
      const problem = nickPasswordProblem(nickPassword);
      if (problem) {
        errorEl.textContent = problem;
        nickPasswordInput.focus();
        return;
      }
    }
    const password = $('#password').hidden ? '' : $('#password').value;
    const button = $('#signin-submit');
    button.disabled = true;
    errorEl.textContent = '';
    try {
      const session = await transport.signIn(nick, password, { nickPassword });
      $('#password').value = '';
      nickPasswordInput.value = '';
      protectedNick = '';
      $('#protect-nick').checked = false;
      applyNickPassword();
      await enter(session.nick || nick, session);
    } catch (err) {
      if (err.reason === 'nick_protected') {
        protectedNick = nick;
        nickPasswordInput.value = '';
        applyNickPassword();
        errorEl.textContent = protectedNickSentence(nick, nickPassword !== '');
        nickPasswordInput.focus();
        return;
      }
      const ban = banFromError(err);
      if (ban) {
        errorEl.textContent = bannedSentence(ban);
        nickInput.focus();
        return;
      }
      const refused = err.kind === KINDS.unauthorized;
      if (refused && $('#password').hidden) {
        // The server wants a password we did not know about.
        try {
          info = await transport.info();
          chat.setInfo(info);
        } catch {
          // keep what we had
        }
        applyInfo();
        $('#password').hidden = false;
        $('#password-label').hidden = false;
      }
      errorEl.textContent = err.isNetwork ? 'Cannot reach the server. Check the connection and try again.' : err.message;
      (refused ? $('#password') : nickInput).focus();
    } finally {
      button.disabled = false;
    }
  }

  async function onSignOut() {
    const button = $('#signout');
    button.disabled = true;
    try {
      await transport.signOut();
    } catch (err) {
      if (err.isNetwork) {
        chat.showTransient(`Could not sign out: ${err.message}`);
        return;
      }
    } finally {
      button.disabled = false;
    }
    chat.reset();
    showSignIn('');
  }

  async function boot() {
    clearTimeout(bootTimer);
    if (chat.me) return;
    try {
      info = await transport.info();
      chat.setInfo(info);
      applyInfo();
      const who = await transport.whoAmI();
      if (chat.me) return; // signed in from the form meanwhile
      if (who && typeof who.nick === 'string') await enter(who.nick, who);
      else showSignIn('');
    } catch (err) {
      if (chat.me) return;
      const ban = banFromError(err);
      if (ban) {
        banner.show(ban);
        return;
      }
      showSignIn(err.isNetwork ? 'Cannot reach the server; retrying…' : err.message);
      bootTimer = setTimeout(boot, BOOT_RETRY_MS);
    }
  }

  $('#signin-form').addEventListener('submit', onSignIn);
  $('#nick').addEventListener('input', onNickInput);
  $('#protect-nick').addEventListener('change', () => {
    applyNickPassword();
    if (!$('#nick-password').hidden) $('#nick-password').focus();
  });
  $('#signout').addEventListener('click', onSignOut);
  $('#pick-another-nick').addEventListener('click', pickAnotherNick);
  boot();
}

/** Adds the "Protect this nick" checkbox and the nick-password field after the server password. */
function addNickPasswordFields() {
  if (document.querySelector('#nick-password')) return;
  const check = document.createElement('label');
  check.id = 'protect-nick-label';
  check.className = 'check';
  check.hidden = true;
  const box = document.createElement('input');
  box.id = 'protect-nick';
  box.type = 'checkbox';
  check.append(box, ' Protect this nick');
  const label = document.createElement('label');
  label.id = 'nick-password-label';
  label.htmlFor = 'nick-password';
  label.hidden = true;
  const input = document.createElement('input');
  input.id = 'nick-password';
  input.name = 'nick-password';
  input.type = 'password';
  input.autocomplete = 'new-password';
  input.hidden = true;
  input.setAttribute('aria-describedby', 'signin-error');
  $('#password').after(check, label, input);
}

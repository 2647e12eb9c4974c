/**
 * desktop-saved.js — the home screen's list of saved rooms (Tauri only).
 *
 * Owns: `#saved-rooms` and `#saved-empty`: one item per saved room with its
 * server, nick, connection state, unread count and, apart, how many of
 * those mention the person ("@2"; all from Rust, through DesktopCore), an Open button and a Forget button that asks once more
 * (forgetting also drops the room's unsent messages), and "Show nick
 * password": the nick password the app keeps in the keychain for that
 * server and nick (`nick_password`), with a Copy button, so the person can
 * sign in as the same nick elsewhere (a browser). DM rooms are named by
 * the other person ("Direct messages with bo"). A room whose session is
 * refused (offline, `unauthorized`: its nick is protected with a password
 * this app does not have) offers "Sign in again" with a field for the
 * nick password (`sign_in_again`).
 */

import { formatUntil } from './ban-rules.js';
import { $, h } from './dom.js';
import { serverLabel } from './desktop-core.js';
import { copyWithButton } from './desktop-forms.js';

const CONFIRM_MS = 5000;

/** A server's sentence with its RFC 3339 times (a ban's end) in local time. */
function localTimes(text) {
  return String(text).replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})\b/g,
    (at) => formatUntil(at));
}

function connectionText(connection) {
  switch (connection?.state) {
    case 'connected':
      return ['connected', 'Connected', ''];
    case 'reconnecting':
      return ['reconnecting', 'Reconnecting…', connection.reason || ''];
    case 'offline': {
      const reason = localTimes(connection.reason || '');
      return ['offline', `Offline: ${reason || 'not connected.'}`, reason];
    }
    default:
      return ['connecting', 'Connecting…', ''];
  }
}

/**
 * The saved rooms list. `ctx`: {core (DesktopCore), setNotice(text),
 * openRoom(roomView), afterForget()}. Returns {render(), renderRoom(id)}.
 */
export function createSavedRooms(ctx) {
  const { core } = ctx;
  const items = new Map(); // room id -> li.saved-room
  const confirmTimers = new WeakMap();

  function createItem(id) {
    const li = h('li', { class: 'saved-room', dataset: { roomId: id } });
    const open = h('button', { type: 'button', class: 'open-room primary' }, 'Open');
    const forget = h('button', { type: 'button', class: 'forget-room' }, 'Forget');
    const reveal = h('button', { type: 'button', class: 'show-nick-password', 'aria-expanded': 'false' }, 'Show nick password');
    const shown = h('div', { class: 'nick-password', hidden: true });
    const signin = signInForm(id);
    open.addEventListener('click', () => openSaved(id));
    forget.addEventListener('click', () => forgetSaved(id, forget));
    reveal.addEventListener('click', () => toggleNickPassword(id, reveal, shown));
    li.append(
      h('div', { class: 'saved-room-main' },
        h('div', { class: 'saved-room-title' },
          h('span', { class: 'saved-room-name' }),
          h('span', { class: 'mentions', hidden: true, title: 'mentions you' }, '@0'),
          h('span', { class: 'unread', hidden: true }, '0')),
        h('div', { class: 'saved-room-meta' },
          h('span', { class: 'saved-room-nick' }),
          h('span', { class: 'saved-room-state' }))),
      h('div', { class: 'saved-room-actions' }, open, reveal, forget),
      shown,
      signin,
    );
    return li;
  }

  /**
   * Shown while the room's session is refused (offline, `unauthorized`:
   * e.g. its nick is protected with a password the keychain lost): signs
   * in again, with the nick password if the person types it (kept then).
   */
  function signInForm(id) {
    const input = h('input', {
      id: `saved-nick-password-${id}`, class: 'saved-nick-password', type: 'password',
      autocomplete: 'current-password', maxlength: '128',
    });
    const error = h('span', { class: 'error saved-signin-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'saved-signin-submit' }, 'Sign in again');
    const form = h('form', { class: 'saved-signin', hidden: true, novalidate: true },
      h('label', { for: input.id }, 'Nick password ', h('span', { class: 'muted' }, '(if you have it)')),
      ' ', input, ' ', submit, ' ', error);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (submit.disabled) return;
      submit.disabled = true;
      error.textContent = '';
      try {
        const args = { roomId: id };
        if (input.value) args.nickPassword = input.value;
        await core.invoke('sign_in_again', args);
        input.value = '';
        await core.refreshSaved().catch(() => {});
      } catch (err) {
        error.textContent = err.message;
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  /** Shows (or hides again) the nick password the app keeps for the room's server and nick. */
  async function toggleNickPassword(id, button, box) {
    if (!box.hidden) {
      box.hidden = true;
      box.replaceChildren();
      button.textContent = 'Show nick password';
      button.setAttribute('aria-expanded', 'false');
      return;
    }
    const room = core.savedRooms().find((r) => r.id === id);
    if (!room) return;
    let kept;
    try {
      kept = await core.invoke('nick_password', { roomId: id });
    } catch (err) {
      kept = undefined;
      box.replaceChildren(h('span', { class: 'error' }, `The nick password cannot be read: ${err.message}`));
    }
    if (typeof kept === 'string' && kept) {
      const copy = h('button', { type: 'button', class: 'copy-nick-password' }, 'Copy');
      copy.addEventListener('click', () => copyWithButton(kept, copy));
      box.replaceChildren(
        h('span', { class: 'muted' }, `To sign in as ${room.nick} elsewhere (a browser), use this nick password: `),
        h('code', { class: 'nick-password-value', 'aria-label': `Nick password of ${room.nick}` }, kept),
        ' ',
        copy,
      );
    } else if (kept === null) {
      box.replaceChildren(h('span', { class: 'muted' },
        'No nick password: this server does not protect nicks, or the app could not keep one.'));
    }
    box.hidden = false;
    button.textContent = 'Hide nick password';
    button.setAttribute('aria-expanded', 'true');
  }

  function updateItem(li, room) {
    const where = serverLabel(room);
    li.querySelector('.saved-room-name').textContent = room.dm
      ? `Direct messages with ${room.dm} · ${where}`
      : `#${room.room} · ${where}`;
    li.querySelector('.saved-room-nick').textContent = `as ${room.nick}`;
    const unread = li.querySelector('.unread');
    const count = Number(room.unread) || 0;
    unread.hidden = count === 0;
    unread.textContent = String(count);
    unread.setAttribute('aria-label', `${count} unread`);
    const mentions = li.querySelector('.mentions');
    const mentioned = Math.min(count, Number(room.mentions) || 0);
    mentions.hidden = mentioned === 0;
    mentions.textContent = `@${mentioned}`;
    mentions.setAttribute('aria-label', `${mentioned} ${mentioned === 1 ? 'mention' : 'mentions'} of you`);
    const [state, text, reason] = connectionText(room.connection);
    const refused = room.connection?.state === 'offline' && room.connection?.kind === 'unauthorized';
    li.querySelector('.saved-signin').hidden = !refused;
    const stateEl = li.querySelector('.saved-room-state');
    stateEl.dataset.state = state;
    stateEl.textContent = text;
    stateEl.title = reason;
    li.querySelector('.open-room').setAttribute('aria-label', `Open #${room.room} (${where})`);
    li.querySelector('.forget-room').setAttribute('aria-label', `Forget #${room.room} (${where})`);
  }

  function render() {
    const rooms = core.savedRooms();
    const ul = $('#saved-rooms');
    const ids = new Set(rooms.map((r) => r.id));
    rooms.forEach((room, i) => {
      let li = items.get(room.id);
      if (!li) {
        li = createItem(room.id);
        items.set(room.id, li);
      }
      updateItem(li, room);
      if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
    });
    for (const [id, li] of items) {
      if (!ids.has(id)) {
        li.remove();
        items.delete(id);
      }
    }
    $('#saved-empty').hidden = rooms.length > 0;
  }

  function renderRoom(id) {
    const li = items.get(id);
    const room = core.savedRooms().find((r) => r.id === id);
    if (li && room) updateItem(li, room);
  }

  function openSaved(id) {
    const room = core.savedRooms().find((r) => r.id === id);
    if (room) ctx.openRoom(room);
    else ctx.setNotice('That room is not in your saved rooms any more.');
  }

  function resetForget(button) {
    clearTimeout(confirmTimers.get(button));
    delete button.dataset.confirm;
    button.classList.remove('danger');
    button.textContent = 'Forget';
  }

  /** Forgetting also drops the room's unsent messages: the first click asks. */
  async function forgetSaved(id, button) {
    const room = core.savedRooms().find((r) => r.id === id);
    if (!room) return;
    if (button.dataset.confirm !== 'true') {
      button.dataset.confirm = 'true';
      button.classList.add('danger');
      button.textContent = 'Click again to forget';
      confirmTimers.set(button, setTimeout(() => resetForget(button), CONFIRM_MS));
      return;
    }
    resetForget(button);
    button.disabled = true;
    try {
      await core.invoke('forget_room', { roomId: id });
      ctx.setNotice(`Forgot #${room.room} (${serverLabel(room)}).`);
    } catch (err) {
      ctx.setNotice(`Could not forget #${room.room}: ${err.message}`);
    } finally {
      button.disabled = false;
    }
    await core.refreshSaved().catch(() => {});
    ctx.afterForget();
  }

  return { render, renderRoom };
}

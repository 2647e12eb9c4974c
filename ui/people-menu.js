/**
 * people-menu.js — the menu on a person of the online list.
 *
 * Owns: `ul#online > li.person` items (`button.person-btn[data-nick]` with
 * the nick; `.me` for the reader, who gets no menu) and the one open
 * `.person-menu` under a person: "Message" (`.act-message`: a direct
 * message, protocol v1.1 "dm") and, for admins, "Ban for…" (`.act-ban`),
 * which turns the menu into `form.ban-form`: a choice of lengths
 * (`input[name=ban-minutes]`, ban-rules.js's BAN_CHOICES), an optional
 * reason (`.ban-reason`), `button.confirm-ban` and `.cancel-ban`. One menu
 * is open at a time; Escape or Cancel closes it and gives focus back to
 * the person. What the actions do is the caller's (chat-people.js):
 * handlers {canMessage(), canBan(), onMessage(nick), onBan(nick, minutes,
 * reason) -> Promise<bool> (true: done, the menu closes)}.
 */

import { h } from './dom.js';
import { BAN_CHOICES, MAX_BAN_REASON_CHARS } from './ban-rules.js';

export class PeopleMenu {
  constructor(list, handlers) {
    this.list = list;
    this.handlers = handlers;
    this.menu = null;
    this.nick = null;
    list.addEventListener('click', (event) => {
      const button = event.target.closest?.('button.person-btn');
      if (button && list.contains(button)) this.toggle(button.dataset.nick, button.closest('li'));
    });
  }

  /** The online list's items: `nicks` sorted, `me` marked. Keeps an open menu on its person. */
  render(nicks, me) {
    const open = this.nick;
    const items = nicks.map((nick) => {
      const mine = nick === me;
      const li = h('li', { class: mine ? 'person me' : 'person' });
      li.dataset.nick = nick;
      if (mine || !this._hasActions()) {
        li.append(h('span', { class: 'person-name' }, nick));
      } else {
        li.append(h('button', {
          type: 'button', class: 'person-btn', 'aria-haspopup': 'true', 'aria-expanded': 'false', dataset: { nick },
          title: `Message ${nick}${this.handlers.canBan() ? ' or ban them' : ''}`,
        }, nick));
      }
      return li;
    });
    const kept = open && this.menu && items.find((li) => li.dataset.nick === open && li.querySelector('.person-btn'));
    const focused = this.menu?.contains(document.activeElement) ? document.activeElement : null;
    this.list.replaceChildren(...items);
    if (kept) {
      kept.append(this.menu);
      focused?.focus();
      kept.querySelector('.person-btn').setAttribute('aria-expanded', 'true');
    } else {
      this.close(false);
    }
  }

  _hasActions() {
    return this.handlers.canMessage() || this.handlers.canBan();
  }

  toggle(nick, li) {
    if (this.nick === nick && this.menu?.isConnected) {
      this.close();
      return;
    }
    this.close(false);
    this.nick = nick;
    this.menu = h('div', { class: 'person-menu', role: 'group', 'aria-label': `Actions for ${nick}` });
    this.menu.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        this.close();
      }
    });
    li.append(this.menu);
    li.querySelector('.person-btn')?.setAttribute('aria-expanded', 'true');
    this._main(nick);
  }

  /** Closes the open menu; `refocus`: focus goes back to its person. */
  close(refocus = true) {
    const menu = this.menu;
    const li = menu?.parentElement;
    this.menu = null;
    this.nick = null;
    if (!menu) return;
    menu.remove();
    const button = li?.querySelector('.person-btn');
    button?.setAttribute('aria-expanded', 'false');
    if (refocus) button?.focus();
  }

  _fill(...children) {
    this.menu.replaceChildren(...children);
    this.menu.querySelector('button, input')?.focus();
  }

  _button(cls, label, onclick, extra = {}) {
    return h('button', { type: 'button', class: `act ${cls}`, onclick, ...extra }, label);
  }

  _main(nick) {
    const items = [];
    if (this.handlers.canMessage()) {
      items.push(this._button('act-message', 'Message', () => {
        this.close(false);
        this.handlers.onMessage(nick);
      }));
    }
    if (this.handlers.canBan()) items.push(this._button('act-ban danger', 'Ban for…', () => this._ban(nick)));
    items.push(this._button('act-close', '×', () => this.close(), { 'aria-label': 'Close' }));
    this._fill(...items);
  }

  _ban(nick) {
    const choices = h('fieldset', { class: 'ban-choices' }, h('legend', {}, `Ban ${nick} for`),
      ...BAN_CHOICES.map((c, i) => h('label', { class: 'check' },
        h('input', { type: 'radio', name: 'ban-minutes', value: String(c.minutes), checked: i === 0 }), ` ${c.label}`)));
    const reason = h('input', {
      type: 'text', class: 'ban-reason', 'aria-label': 'Reason (optional, shown to them)', placeholder: 'Reason (optional, shown to them)',
      maxlength: String(MAX_BAN_REASON_CHARS), autocomplete: 'off',
    });
    const status = h('p', { class: 'ban-status error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'act confirm-ban danger' }, 'Ban');
    const form = h('form', { class: 'ban-form', novalidate: true }, choices, reason,
      h('div', { class: 'button-row' }, submit, this._button('cancel-ban', 'Cancel', () => this.close())), status);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const minutes = Number(form.querySelector('input[name=ban-minutes]:checked')?.value || BAN_CHOICES[0].minutes);
      submit.disabled = true;
      status.textContent = '';
      const done = await this.handlers.onBan(nick, minutes, reason.value.trim(), (problem) => {
        status.textContent = problem;
      });
      submit.disabled = false;
      if (done && this.nick === nick) this.close();
    });
    this._fill(form);
  }
}

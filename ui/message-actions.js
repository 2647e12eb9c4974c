/**
 * message-actions.js — the actions on a stored message (protocol v1.1 "log").
 *
 * Owns: the inline panel `.msg-panel` a message's menu button
 * (`button.msg-menu`, from message-item.js) opens inside that message:
 * Reply, React, and for the reader's own messages Edit and Delete (an
 * admin gets Delete on every message). React
 * turns the panel into a picker (`.reaction-picker`: QUICK_EMOJI buttons
 * `.pick-emoji` and a field for any emoji, `form.custom-emoji`); Delete asks
 * first, inline (`.confirm-delete`; no window.confirm, which a desktop
 * webview may block). One panel is open at a time; Escape or Cancel closes
 * it and gives focus back to the menu button. Everything is a button, so
 * keyboard and touch reach it as well as a mouse.
 *
 * What the actions do is the caller's (chat-actions.js): `handlers`
 * {message(id) -> the stored message or null, canEdit(msg), canDelete(msg), onReply(msg),
 * onEdit(msg), onDelete(msg), onReact(msg, emoji)}.
 */

import { h } from './dom.js';
import { QUICK_EMOJI, customEmoji } from './action-rules.js';

export class MessageActions {
  constructor(handlers) {
    this.handlers = handlers;
    this.panel = null;
    this.id = null;
  }

  /** The menu button of message `id` (element `el`) was pressed: opens or closes its panel. */
  toggle(id, el) {
    if (this.id === id && this.panel?.isConnected) {
      this.close();
      return;
    }
    const msg = this.handlers.message(id);
    if (!msg) return;
    this.close(false);
    this.id = id;
    this.panel = h('div', { class: 'msg-panel', role: 'group', 'aria-label': `Actions for the message by ${msg.nick}` });
    this.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        this.close();
      }
    });
    el.append(this.panel);
    el.querySelector('.msg-menu')?.setAttribute('aria-expanded', 'true');
    this._main(msg);
  }

  /**
   * One action of message `id` (element `el`), as the app's right-click
   * menu asks (context-menu.js): 'reply' and 'edit' at once; 'react' and
   * 'delete' open this panel at its picker or its confirmation.
   */
  run(id, el, action) {
    const msg = this.handlers.message(id);
    if (!msg) return;
    if (action === 'reply') this.handlers.onReply(msg);
    else if (action === 'edit' && this.handlers.canEdit(msg)) this.handlers.onEdit(msg);
    else if (action === 'react' || action === 'delete') {
      if (this.id !== id || !this.panel?.isConnected) this.toggle(id, el);
      if (!this.panel) return;
      if (action === 'react') this._picker(msg);
      else if (this.handlers.canEdit(msg)) this._confirm(msg);
      else if (this.handlers.canDelete?.(msg)) this._confirm(msg, { theirs: true });
    }
  }

  /** Closes the open panel; `refocus`: focus goes back to its menu button. */
  close(refocus = true) {
    const panel = this.panel;
    const el = panel?.parentElement;
    this.panel = null;
    this.id = null;
    if (!panel) return;
    panel.remove();
    const menu = el?.querySelector('.msg-menu');
    menu?.setAttribute('aria-expanded', 'false');
    if (refocus) menu?.focus();
  }

  /** The panel's element moved to a redrawn copy of its message. */
  adopt(oldEl, newEl) {
    const panel = oldEl.querySelector(':scope > .msg-panel');
    if (!panel) return;
    newEl.append(panel);
    newEl.querySelector('.msg-menu')?.setAttribute('aria-expanded', 'true');
  }

  _fill(...children) {
    this.panel.replaceChildren(...children);
    this.panel.querySelector('button, input')?.focus();
  }

  _button(cls, label, onclick, extra = {}) {
    return h('button', { type: 'button', class: `act ${cls}`, onclick, ...extra }, label);
  }

  _main(msg) {
    const { handlers } = this;
    const run = (fn) => () => {
      this.close(false);
      fn(msg);
    };
    const items = [
      this._button('act-reply', 'Reply', run(handlers.onReply)),
      this._button('act-react', 'React', () => this._picker(msg)),
    ];
    if (handlers.canEdit(msg)) {
      items.push(
        this._button('act-edit', 'Edit', run(handlers.onEdit)),
        this._button('act-delete danger', 'Delete', () => this._confirm(msg)),
      );
    } else if (handlers.canDelete?.(msg)) {
      items.push(this._button('act-delete danger', 'Delete', () => this._confirm(msg, { theirs: true })));
    }
    items.push(this._button('act-close', '×', () => this.close(), { 'aria-label': 'Close' }));
    this._fill(...items);
  }

  _picker(msg) {
    const react = (emoji) => {
      this.close();
      this.handlers.onReact(msg, emoji);
    };
    const quick = h('div', { class: 'reaction-picker', role: 'group', 'aria-label': 'React with' },
      ...QUICK_EMOJI.map((emoji) => this._button('pick-emoji', emoji, () => react(emoji), { 'aria-label': `React with ${emoji}` })));
    const input = h('input', {
      type: 'text', class: 'custom-emoji-text', 'aria-label': 'Any emoji', placeholder: 'any emoji', maxlength: '32',
      autocomplete: 'off', spellcheck: 'false',
    });
    const form = h('form', { class: 'custom-emoji', novalidate: true },
      input, h('button', { type: 'submit', class: 'act' }, 'Add'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const emoji = customEmoji(input.value);
      if (emoji) react(emoji);
      else input.setCustomValidity?.('1 to 16 characters, no spaces');
    });
    input.addEventListener('input', () => input.setCustomValidity?.(''));
    this._fill(quick, form, this._button('act-close', '×', () => this.close(), { 'aria-label': 'Close' }));
  }

  _confirm(msg, { theirs = false } = {}) {
    this._fill(
      h('span', { class: 'confirm-text' }, theirs ? `Delete this message by ${msg.nick} for everyone?` : 'Delete this message for everyone?'),
      this._button('confirm-delete danger', 'Delete', () => {
        this.close();
        this.handlers.onDelete(msg);
      }),
      this._button('cancel-delete', 'Cancel', () => this.close()),
    );
  }
}

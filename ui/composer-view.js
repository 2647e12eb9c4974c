/**
 * composer-view.js — the message box at the bottom of the chat view.
 *
 * Owns: `#composer`, `#composer-text`, `#send`, `#composer-reason` and
 * `#char-count`: whether typing is possible and why not, the count near
 * and over the limit, Enter to send (Shift+Enter a new line). What is sent
 * goes to `onSend(text)`; the box is cleared by the caller (`clear`) and
 * may be given back (`giveBack`) when nothing was queued.
 */

import { $ } from './dom.js';
import { charCount } from './format.js';

const NEAR_LIMIT = 200; // the count shows this close to the limit

export class ComposerView {
  /** @param {object} actions {onSend(text)} */
  constructor({ onSend }) {
    this.box = $('#composer-text');
    this.maxChars = 4000;
    this.onSend = onSend;
    $('#composer').addEventListener('submit', (event) => {
      event.preventDefault();
      this._submit();
      this.box.focus();
    });
    this.box.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing
          && !event.altKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        this._submit();
      }
    });
    this.box.addEventListener('input', () => this.renderCount());
  }

  _submit() {
    if (this.box.disabled) return;
    const text = this.box.value.trimEnd();
    if (!text) return;
    if (charCount(text) > this.maxChars) {
      this.renderCount();
      $('#char-count').hidden = false;
      return;
    }
    this.onSend(text);
  }

  /** Enabled only with a signed-in reader and a room on screen. */
  render({ me, current, maxChars }) {
    this.maxChars = maxChars;
    let reason = '';
    if (!me) reason = 'Sign in to send messages.';
    else if (!current) reason = 'Choose a room to send messages.';
    this.box.disabled = Boolean(reason);
    $('#send').disabled = Boolean(reason);
    $('#composer-reason').textContent = reason;
    this.box.placeholder = current ? `Message #${current}` : 'Message';
    this.renderCount();
  }

  renderCount() {
    const max = this.maxChars;
    const n = charCount(this.box.value);
    const el = $('#char-count');
    el.hidden = n < max - NEAR_LIMIT;
    el.textContent = n > max ? `${n} / ${max} (${n - max} too many)` : `${n} / ${max}`;
    el.classList.toggle('over', n > max);
  }

  clear() {
    this.box.value = '';
    this.renderCount();
  }

  /** Puts back text that was not queued, unless something new was typed. */
  giveBack(text) {
    if (this.box.value) return;
    this.box.value = text;
    this.renderCount();
  }

  /** Replaces the text (editing a message that failed) and focuses the box. */
  edit(text) {
    this.box.value = text;
    this.renderCount();
    this.box.focus();
  }

  focus() {
    this.box.focus();
  }
}

/**
 * composer-view.js — the message box at the bottom of the chat view.
 *
 * Owns: `#composer`, `#composer-text`, `#send`, `#composer-reason` and
 * `#char-count`: whether typing is possible and why not, the count near
 * and over the limit, Enter to send (Shift+Enter a new line), and why a
 * message cannot be sent (`refusal`: only spaces, too long), shown in
 * `#composer-reason` until the text changes. What is sent goes to
 * `onSend(text)`; the box is cleared by the caller (`clear`) and may be
 * given back (`giveBack`) when nothing was queued. Keys go to `onKey`
 * first (the composer's modes and @ completion take Escape, arrows, Tab).
 * With files in the tray (attach-tray.js, asked through `files`) the text
 * may be empty, and a file the server would refuse holds back Send.
 */

import { $ } from './dom.js';
import { charCount } from './format.js';

const NEAR_LIMIT = 200; // the count shows this close to the limit

/**
 * Why the composer's `value` cannot be sent, or '' when it can (or when
 * the box is empty: nothing was asked). `withFiles`: files go with it,
 * so no text is fine. Pure.
 */
export function refusal(value, maxChars, withFiles = false) {
  const text = value.trimEnd();
  if (!text) return value && !withFiles ? 'Nothing to send: the message is only spaces.' : '';
  const n = charCount(text);
  if (n > maxChars) {
    return `Too long to send: ${n} characters, ${n - maxChars} over the limit of ${maxChars}. Shorten it or split it.`;
  }
  return '';
}

export class ComposerView {
  /**
   * @param {object} actions {onSend(text); optional: onKey(event) (first
   *   look at a key: true when it was taken), onInput(text), files
   *   {count(), refusal()} (the tray's files)}
   */
  constructor({ onSend, onKey = () => false, onInput = () => {}, files = null }) {
    this.box = $('#composer-text');
    this.files = files || { count: () => 0, refusal: () => '' };
    this.maxChars = 4000;
    this.onSend = onSend;
    this.disabledReason = '';
    this.refused = ''; // why the last try to send failed, until the text changes
    $('#composer').addEventListener('submit', (event) => {
      event.preventDefault();
      this._submit();
      this.box.focus();
    });
    this.box.addEventListener('keydown', (event) => {
      if (!event.isComposing && onKey(event)) {
        event.preventDefault();
        return;
      }
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing
          && !event.altKey && !event.ctrlKey && !event.metaKey) {
        event.preventDefault();
        this._submit();
      }
    });
    this.box.addEventListener('input', () => {
      this._refuse('');
      this.renderCount();
      onInput(this.box.value);
    });
  }

  _submit() {
    if (this.box.disabled) return;
    const files = this.files.count();
    const why = refusal(this.box.value, this.maxChars, files > 0) || (files ? this.files.refusal() : '');
    this._refuse(why);
    if (why) {
      this.renderCount();
      return;
    }
    const text = this.box.value.trimEnd();
    if (text || files) this.onSend(text);
  }

  /** The tray's files changed: a refusal about them may no longer hold. */
  filesChanged() {
    if (this.refused && !refusal(this.box.value, this.maxChars, this.files.count() > 0)) this._refuse('');
  }

  /** Shows why the text was not sent ('' clears it); a disabled box's reason comes first. */
  _refuse(why) {
    this.refused = why;
    const el = $('#composer-reason');
    el.textContent = this.disabledReason || why;
    el.classList.toggle('refusal', !this.disabledReason && Boolean(why));
  }

  /** Enabled only with a signed-in reader and a room on screen. */
  render({ me, current, maxChars, label = null }) {
    this.maxChars = maxChars;
    let reason = '';
    if (!me) reason = 'Sign in to send messages.';
    else if (!current) reason = 'Choose a room to send messages.';
    this.box.disabled = Boolean(reason);
    $('#send').disabled = Boolean(reason);
    this.disabledReason = reason;
    this._refuse(this.refused);
    this.box.placeholder = current ? `Message ${label || `#${current}`}` : 'Message';
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
    this._refuse('');
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
    this._refuse('');
    this.renderCount();
    this.box.focus();
  }

  focus() {
    this.box.focus();
  }
}

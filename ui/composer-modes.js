/**
 * composer-modes.js — what the composer's text will do: a new message, a
 * reply, or an edit (protocol v1.1 "log").
 *
 * Owns: the mode (null, {kind: 'reply', room, id, nick, text} or {kind: 'edit',
 * id, room, before (the composer's text when editing began)}) and the bar
 * above the composer that shows it (`#composer-mode`: "Replying to ana:
 * …" with the quoted excerpt, or "Editing your message"), with its cancel
 * button (×; Escape does the same, see chat-actions.js). Cancelling an edit
 * puts back what was being typed before it.
 */

import { $ } from './dom.js';

export class ComposerModes {
  /** @param {object} actions {onCancel(mode)} */
  constructor({ onCancel }) {
    this.mode = null;
    this.bar = $('#composer-mode');
    this.text = $('#composer-mode-text');
    $('#composer-mode-cancel').addEventListener('click', () => {
      const mode = this.mode;
      this.set(null);
      if (mode) onCancel(mode);
    });
  }

  get replyTo() {
    return this.mode?.kind === 'reply' ? this.mode.id : null;
  }

  get editing() {
    return this.mode?.kind === 'edit' ? this.mode : null;
  }

  /** Sets the mode (null: a plain message) and shows it. */
  set(mode) {
    this.mode = mode;
    this.bar.hidden = !mode;
    this.bar.dataset.kind = mode?.kind || '';
    this.text.replaceChildren();
    if (!mode) return;
    if (mode.kind === 'reply') {
      const nick = document.createElement('strong');
      nick.textContent = mode.nick;
      const quote = document.createElement('span');
      quote.className = 'composer-mode-quote';
      quote.textContent = mode.text;
      this.text.append('Replying to ', nick, ': ', quote);
    } else {
      this.text.textContent = 'Editing your message (Enter saves, Escape cancels)';
    }
  }
}

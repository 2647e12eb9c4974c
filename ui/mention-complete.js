/**
 * mention-complete.js — `@` completion in the composer.
 *
 * Owns: `ul#mention-list` (role=listbox) over the composer. While the
 * caret is in an `@partial` (mention-rules.js: mentionQuery), it lists the
 * room's nicks that fit (mentionCandidates over `nicks()`: online ones and
 * authors); ArrowUp/ArrowDown move, Enter or Tab choose (Enter sends
 * instead when the nick is typed in full already), Escape closes; a
 * click (or tap) chooses too. Choosing writes `@nick ` into the box
 * (applyMention). The composer gives it first look at keys (`key`).
 */

import { $, h } from './dom.js';
import { applyMention, mentionCandidates, mentionQuery } from './mention-rules.js';

export class MentionComplete {
  /** @param {object} io {box (the textarea), nicks() -> [nick], me() -> nick} */
  constructor({ box, nicks, me }) {
    this.box = box;
    this.nicks = nicks;
    this.me = me;
    this.list = $('#mention-list');
    this.items = [];
    this.index = 0;
    this.query = null;
    box.setAttribute('aria-controls', 'mention-list');
    box.addEventListener('click', () => this.update());
    box.addEventListener('blur', () => setTimeout(() => {
      if (document.activeElement !== this.box) this.close();
    }, 150));
  }

  get open() {
    return !this.list.hidden;
  }

  /** The text or caret changed: opens, refreshes or closes the list. */
  update() {
    const { box } = this;
    const query = box.selectionStart === box.selectionEnd ? mentionQuery(box.value, box.selectionStart) : null;
    const items = query ? mentionCandidates(query.partial, this.nicks(), this.me()) : [];
    if (!items.length) {
      this.close();
      return;
    }
    this.query = query;
    this.items = items;
    this.index = 0;
    this.render();
  }

  render() {
    this.list.replaceChildren(...this.items.map((nick, i) => h('li', {
      role: 'option', id: `mention-${i}`, class: i === this.index ? 'active' : '',
      'aria-selected': String(i === this.index),
      onmousedown: (event) => event.preventDefault(), // keeps the focus in the box
      onclick: () => this.choose(i),
    }, `@${nick}`)));
    this.list.hidden = false;
    this.box.setAttribute('aria-expanded', 'true');
    this.box.setAttribute('aria-activedescendant', `mention-${this.index}`);
  }

  close() {
    this.list.hidden = true;
    this.list.replaceChildren();
    this.items = [];
    this.query = null;
    this.box.setAttribute('aria-expanded', 'false');
    this.box.removeAttribute('aria-activedescendant');
  }

  choose(i) {
    const nick = this.items[i];
    if (!nick || !this.query) return;
    const { text, caret } = applyMention(this.box.value, this.query, nick);
    this.close();
    this.box.value = text;
    this.box.setSelectionRange(caret, caret);
    this.box.dispatchEvent(new Event('input')); // the count, typing
    this.box.focus();
  }

  /** A key in the box while the list is open: true when it was taken. */
  key(event) {
    if (!this.open) return false;
    const n = this.items.length;
    switch (event.key) {
      case 'ArrowDown':
        this.index = (this.index + 1) % n;
        this.render();
        return true;
      case 'ArrowUp':
        this.index = (this.index + n - 1) % n;
        this.render();
        return true;
      case 'Enter':
        if (event.shiftKey) return false;
        if (this.items[this.index].toLowerCase() === this.query.partial.toLowerCase()) {
          this.close(); // typed in full already: Enter sends
          return false;
        }
        this.choose(this.index);
        return true;
      case 'Tab':
        if (event.shiftKey) return false;
        this.choose(this.index);
        return true;
      case 'Escape':
        this.close();
        return true;
      default:
        return false;
    }
  }
}

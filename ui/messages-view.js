/**
 * messages-view.js — the message list of the room on screen.
 *
 * Owns: the DOM inside `#messages` (role=log), the scroll container
 * `#scroller`, the "Load older" button's visibility and the
 * "New messages ↓" button. It knows nothing about the network: chat.js
 * tells it what to show.
 *
 * - One message's elements come from message-item.js: stored ones are
 *   `.message[data-id]` (with, from the room log: a reply's quote, the
 *   "(edited)" marker, reaction chips, `.mention`); outbox entries are
 *   `.message.pending[data-client-id]` (no data-id), always after the
 *   stored messages. A stored message changes in place (`replace`: an
 *   edit, a reaction) or goes (`remove`: deleted).
 * - A reply's quote, clicked, scrolls to the original and highlights it
 *   briefly (`.flash`) when it is loaded, else asks `onReplyMissing`.
 * - `#typing` under the list says who is typing (`renderTyping`).
 * - Text is formatted by markdown.js (a small Markdown subset: bold,
 *   italic, code, code blocks, quotes, http(s) links) and built by
 *   markdown-dom.js with DOM APIs only; CSS keeps newlines (white-space:
 *   pre-wrap).
 * - Consecutive messages by one nick within 5 minutes form a group: later
 *   ones get `.cont`, which hides their nick and time visually (screen
 *   readers still read them).
 * - New messages scroll the list to the bottom only if the reader was
 *   already there; otherwise the "New messages ↓" button appears.
 * - Prepending older messages keeps what the reader sees in place;
 *   scrolling up to the top loads them too (the button stays, for keys).
 * - The list holds what the room keeps (cap-rules.js): chat.js drops the
 *   oldest (`dropOldest`) after a new message or when the reader is back
 *   at the bottom (`onAtBottom`), never while they are scrolled up.
 * - Between the messages: `h3.day-sep[data-day]` before the first message
 *   of each day ("Today", "Yesterday", a date: reading-rules.js), and
 *   `.unread-line` before the first unread message of a room just opened.
 *   `_relayout` keeps the separators and groups right after any change.
 */

import { h } from './dom.js';
import { updateProgress } from './file-view.js';
import { messageEl, pendingEl, pendingShape } from './message-item.js';
import { dayKey, dayLabel } from './reading-rules.js';

const GROUP_MS = 5 * 60 * 1000;
const BOTTOM_SLACK_PX = 48;
const LOAD_OLDER_PX = 120; // scrolling up to this close to the top loads older messages
const FLASH_MS = 1_600; // how long the original of a clicked reply stays highlighted
export const NEW_SINCE = 'New since you were away';

const isMessage = (el) => el.classList.contains('message');

/**
 * Marks `el` as a continuation of the message before it, or not. Anything
 * between them (a day separator, the unread line) starts a new group.
 */
function regroup(el) {
  const prev = el.previousElementSibling;
  let cont = false;
  if (prev && isMessage(prev) && !prev.classList.contains('failed') && !el.classList.contains('failed')) {
    const t = Number(el.dataset.ts);
    const p = Number(prev.dataset.ts);
    cont = prev.dataset.nick === el.dataset.nick
      && Number.isFinite(t) && Number.isFinite(p)
      && t - p <= GROUP_MS && t - p >= -GROUP_MS;
  }
  el.classList.toggle('cont', cont);
}

/** Focus was on `focused` in `old`, now replaced by `el`: it goes to the same place in `el`. */
function focusLike(el, old, focused) {
  let target = el;
  if (focused.classList.contains('msg-menu')) target = el.querySelector('.msg-menu');
  else if (focused.classList.contains('reaction-toggle')) {
    const emoji = focused.parentElement?.dataset.emoji;
    target = [...el.querySelectorAll('li.reaction')].find((li) => li.dataset.emoji === emoji)?.firstElementChild || el;
  } else if (focused !== old && el.contains(focused)) target = focused; // inside a moved panel
  target?.focus({ preventScroll: true });
}

function daySeparator(day, ts, now) {
  return h('h3', { class: 'day-sep', dataset: { day, ts: String(ts) } }, dayLabel(ts, now));
}

export class MessageList {
  /**
   * @param {object} els {scroller, list, loadOlder, jumpNew, typing}
   * @param {object} actions {onLoadOlder(), onDiscard(clientId), onEdit(clientId), onReplyMissing(), onAtBottom(),
   *   and for the log's actions onMenu(id, el), onReact(id, emoji, on)}
   */
  constructor({ scroller, list, loadOlder, jumpNew, typing }, actions) {
    this.scroller = scroller;
    this.list = list;
    this.loadOlderBtn = loadOlder;
    this.jumpNew = jumpNew;
    this.typingEl = typing;
    this.actions = actions;
    this.me = null;
    this.deleted = null; // the room's ids deleted this session (a Set), for reply quotes
    this.log = false; // the room log's actions are on (menu buttons, reaction toggles)
    this.itemActions = {
      onReply: (id) => this.showOriginal(id),
      onMenu: (id, el) => this.actions.onMenu?.(id, el),
      onReact: (id, emoji, on) => this.actions.onReact?.(id, emoji, on),
      files: actions.files || null, // a message's files (file-view.js)
    };
    this.replaying = false;
    this.today = dayKey(Date.now()); // the day the separators' labels were made on
    let lastTop = scroller.scrollTop;
    scroller.addEventListener('scroll', () => {
      if (this.atBottom()) {
        this.jumpNew.hidden = true;
        this.actions.onAtBottom?.(); // the controller may drop what is over the cap now
      }
      const top = scroller.scrollTop;
      const canLoad = !this.loadOlderBtn.hidden && !this.loadOlderBtn.disabled;
      if (top < lastTop && top <= LOAD_OLDER_PX && canLoad) this.actions.onLoadOlder();
      lastTop = top;
    }, { passive: true });
    jumpNew.addEventListener('click', () => this.scrollToBottom());
    loadOlder.addEventListener('click', () => this.actions.onLoadOlder());
  }

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight <= BOTTOM_SLACK_PX;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.jumpNew.hidden = true;
  }

  /** Shows the button when older history may exist. */
  setCanLoadOlder(can, loading = false) {
    this.loadOlderBtn.hidden = !can;
    this.loadOlderBtn.disabled = loading;
    this.loadOlderBtn.textContent = loading ? 'Loading…' : 'Load older messages';
  }

  /**
   * While busy (the first replay), screen readers are asked not to read
   * every replayed message out as if it were new.
   */
  setBusy(busy) {
    this.replaying = busy;
    if (busy) this.list.setAttribute('aria-busy', 'true');
    else this.list.removeAttribute('aria-busy');
  }

  clear() {
    this.setBusy(false);
    this.list.replaceChildren();
    this.renderTyping('');
    this.jumpNew.hidden = true;
    this.setCanLoadOlder(false);
  }

  /**
   * Replaces the whole list (room switch). `newSince`: the id of the first
   * unread message, where the "New since you were away" line goes and
   * what is scrolled to; null for none.
   */
  render(messages, pendings, label, newSince = null) {
    this.list.setAttribute('aria-busy', 'true');
    this.list.setAttribute('aria-label', label);
    const frag = document.createDocumentFragment();
    let line = null;
    for (const m of messages) {
      if (m.id === newSince) {
        line = h('div', { class: 'unread-line' }, h('span', {}, NEW_SINCE));
        frag.append(line);
      }
      frag.append(this._messageEl(m));
    }
    for (const p of pendings) frag.append(this._pendingEl(p));
    this.list.replaceChildren(frag);
    this._relayout();
    if (!this.replaying) this.list.removeAttribute('aria-busy');
    this.scrollToBottom();
    if (line) {
      // The first unread message at the top, unless all of it fits above the bottom.
      const top = line.getBoundingClientRect().top - this.scroller.getBoundingClientRect().top + this.scroller.scrollTop;
      this.scroller.scrollTop = Math.min(this.scroller.scrollTop, top - 8);
    }
  }

  /**
   * Puts a day separator before the first message of each day (and only
   * there) and regroups every message. One pass over the list.
   */
  _relayout(now = Date.now()) {
    let lastDay = null;
    let sep = null; // a separator seen since the last message
    for (const el of [...this.list.children]) {
      if (el.classList.contains('day-sep')) {
        sep?.remove();
        sep = el;
        continue;
      }
      if (!isMessage(el)) continue;
      const ts = Number(el.dataset.ts);
      const day = dayKey(ts);
      if (day && day !== lastDay) {
        if (sep?.dataset.day !== day) {
          sep?.remove();
          const fresh = daySeparator(day, ts, now);
          const before = el.previousElementSibling?.classList.contains('unread-line') ? el.previousElementSibling : el;
          this.list.insertBefore(fresh, before);
        }
      } else {
        sep?.remove();
      }
      sep = null;
      if (day) lastDay = day;
      regroup(el);
    }
    sep?.remove();
  }

  /** Relabels the day separators when the day changed ("Today" becomes "Yesterday"). */
  tickDay(now) {
    const today = dayKey(now);
    if (today === this.today) return;
    this.today = today;
    for (const el of this.list.querySelectorAll(':scope > .day-sep')) {
      el.textContent = dayLabel(Number(el.dataset.ts), now);
    }
    this._relayout(now);
  }

  /** A new stored message, after the stored ones (before pending entries). */
  append(msg, { forceScroll = false } = {}) {
    const stick = this.atBottom();
    const el = this._messageEl(msg);
    const firstPending = this.list.querySelector(':scope > .message.pending');
    this.list.insertBefore(el, firstPending);
    this._relayout();
    if (stick || forceScroll) this.scrollToBottom();
    else this.jumpNew.hidden = false;
  }

  /** Older messages (oldest first) at the top, keeping the view in place. */
  prepend(messages) {
    if (!messages.length) return;
    const s = this.scroller;
    const oldFirst = this.list.firstElementChild;
    // Anchor on the text of the message that was first: it stays put even
    // if it joins a group (and loses its nick line or day separator) now.
    const anchor = this.list.querySelector(':scope > .message .text');
    const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    const fromBottom = s.scrollHeight - s.scrollTop;
    const frag = document.createDocumentFragment();
    frag.append(...messages.map((m) => this._messageEl(m)));
    this.list.insertBefore(frag, oldFirst);
    this._relayout();
    if (anchor) s.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
    else s.scrollTop = s.scrollHeight - fromBottom;
  }

  /**
   * Drops the `n` oldest stored messages (and what stood between them:
   * day separators, the unread line) from the DOM; the bottom stays in view.
   */
  dropOldest(n) {
    const stick = this.atBottom();
    for (let left = n; left > 0;) {
      const first = this.list.firstElementChild;
      if (!first || first.classList.contains('pending')) break;
      if (isMessage(first)) left -= 1;
      first.remove();
    }
    this._relayout();
    if (stick) this.scrollToBottom();
  }

  addPending(entry) {
    this.list.append(this._pendingEl(entry));
    this._relayout();
    this.scrollToBottom();
  }

  updatePending(entry) {
    const el = this._findPending(entry.clientId);
    if (!el) return;
    if (entry.files && el.dataset.shape === pendingShape(entry) && updateProgress(el, entry.files)) return; // upload progress only
    el.replaceWith(this._pendingEl(entry));
    this._relayout();
  }

  removePending(clientId) {
    const el = this._findPending(clientId);
    if (!el) return;
    el.remove();
    this._relayout();
  }

  _findPending(clientId) {
    for (const el of this.list.querySelectorAll(':scope > .message.pending')) {
      if (el.dataset.clientId === clientId) return el;
    }
    return null;
  }

  _messageEl(msg) {
    return messageEl(msg, { me: this.me, deleted: this.deleted, log: this.log }, this.itemActions);
  }

  _pendingEl(entry) {
    return pendingEl(entry, this.me, this.actions);
  }

  _findStored(id) {
    for (const el of this.list.querySelectorAll(':scope > .message[data-id]')) {
      if (el.dataset.id === id) return el;
    }
    return null;
  }

  /** A stored message changed (edited, reacted to, replayed in a newer state): redrawn in place. */
  replace(msg) {
    const old = this._findStored(msg.id);
    if (!old) return;
    const el = this._messageEl(msg);
    el.classList.toggle('cont', old.classList.contains('cont'));
    el.classList.toggle('flash', old.classList.contains('flash'));
    const panel = old.querySelector(':scope > .msg-panel'); // an open action panel stays open
    if (panel) el.append(panel);
    const focused = old.contains(document.activeElement) ? document.activeElement : null;
    old.replaceWith(el);
    if (focused) focusLike(el, old, focused);
  }

  /** A stored message was deleted: it goes, and an unread line left with nothing after it. */
  remove(id) {
    const el = this._findStored(id);
    if (!el) return;
    const stick = this.atBottom();
    const prev = el.previousElementSibling;
    el.remove();
    if (prev?.classList.contains('unread-line')) {
      const next = prev.nextElementSibling;
      if (!next || !isMessage(next) || next.classList.contains('pending')) prev.remove();
    }
    this._relayout();
    if (stick) this.scrollToBottom();
  }

  /** A reply's quote was clicked: the original, if loaded, is scrolled to, focused and highlighted. */
  showOriginal(id) {
    const el = this._findStored(id);
    if (!el) {
      this.actions.onReplyMissing?.();
      return;
    }
    el.scrollIntoView({ block: 'center' });
    el.setAttribute('tabindex', '-1');
    el.focus({ preventScroll: true });
    el.classList.add('flash');
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => {
      for (const lit of this.list.querySelectorAll(':scope > .flash')) lit.classList.remove('flash');
    }, FLASH_MS);
  }

  /** The line under the list: who is typing ('' hides it); keeps the bottom in view. */
  renderTyping(text) {
    const el = this.typingEl;
    if (!el || el.textContent === text) return;
    const stick = this.atBottom();
    el.textContent = text;
    el.hidden = !text;
    if (stick) this.scrollToBottom();
  }
}

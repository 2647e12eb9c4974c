/**
 * messages-view.js — the message list of the room on screen.
 *
 * Owns: the DOM inside `#messages` (role=log), the scroll container
 * `#scroller`, the "Load older" button's visibility and the
 * "New messages ↓" button. It knows nothing about the network: chat.js
 * tells it what to show.
 *
 * - Stored messages are `.message[data-id]` with `.nick`, `<time class=time>`
 *   and `.text`; the reader's own ones add `.own`. Outbox entries are
 *   `.message.pending[data-client-id]` (no data-id), always after the stored
 *   messages, with a `.status` line.
 * - Text is formatted by markdown.js (a small Markdown subset: bold,
 *   italic, code, code blocks, quotes, http(s) links) and built by
 *   markdown-dom.js with DOM APIs only; CSS keeps newlines (white-space:
 *   pre-wrap).
 * - Consecutive messages by one nick within 5 minutes form a group: later
 *   ones get `.cont`, which hides their nick and time visually (screen
 *   readers still read them).
 * - New messages scroll the list to the bottom only if the reader was
 *   already there; otherwise the "New messages ↓" button appears.
 * - Prepending older messages keeps what the reader sees in place.
 */

import { h } from './dom.js';
import { fullTime, shortTime } from './format.js';
import { appendFormatted } from './markdown-dom.js';

const GROUP_MS = 5 * 60 * 1000;
const BOTTOM_SLACK_PX = 48;

function timeEl(date) {
  const valid = !Number.isNaN(date.getTime());
  return h('time', {
    class: 'time',
    datetime: valid ? date.toISOString() : null,
    title: valid ? fullTime(date) : null,
  }, valid ? shortTime(date) : '');
}

function sameDay(a, b) {
  const x = new Date(a);
  const y = new Date(b);
  return x.getFullYear() === y.getFullYear() && x.getMonth() === y.getMonth() && x.getDate() === y.getDate();
}

/** Marks `el` as a continuation of the message before it, or not. */
function regroup(el) {
  if (!el || !el.classList || !el.classList.contains('message')) return;
  const prev = el.previousElementSibling;
  let cont = false;
  if (prev && prev.classList.contains('message') && !prev.classList.contains('failed') && !el.classList.contains('failed')) {
    const t = Number(el.dataset.ts);
    const p = Number(prev.dataset.ts);
    cont = prev.dataset.nick === el.dataset.nick
      && Number.isFinite(t) && Number.isFinite(p)
      && t - p <= GROUP_MS && t - p >= -GROUP_MS && sameDay(t, p);
  }
  el.classList.toggle('cont', cont);
}

export class MessageList {
  /**
   * @param {object} els {scroller, list, loadOlder, jumpNew}
   * @param {object} actions {onLoadOlder(), onDiscard(clientId), onEdit(clientId)}
   */
  constructor({ scroller, list, loadOlder, jumpNew }, actions) {
    this.scroller = scroller;
    this.list = list;
    this.loadOlderBtn = loadOlder;
    this.jumpNew = jumpNew;
    this.actions = actions;
    this.me = null;
    this.replaying = false;
    scroller.addEventListener('scroll', () => {
      if (this.atBottom()) this.jumpNew.hidden = true;
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
    this.jumpNew.hidden = true;
    this.setCanLoadOlder(false);
  }

  /** Replaces the whole list (room switch). */
  render(messages, pendings, label) {
    this.list.setAttribute('aria-busy', 'true');
    this.list.setAttribute('aria-label', label);
    const frag = document.createDocumentFragment();
    for (const m of messages) frag.append(this._messageEl(m));
    for (const p of pendings) frag.append(this._pendingEl(p));
    this.list.replaceChildren(frag);
    for (const el of this.list.children) regroup(el);
    if (!this.replaying) this.list.removeAttribute('aria-busy');
    this.scrollToBottom();
  }

  /** A new stored message, after the stored ones (before pending entries). */
  append(msg, { forceScroll = false } = {}) {
    const stick = this.atBottom();
    const el = this._messageEl(msg);
    const firstPending = this.list.querySelector(':scope > .message.pending');
    this.list.insertBefore(el, firstPending);
    regroup(el);
    regroup(el.nextElementSibling);
    if (stick || forceScroll) this.scrollToBottom();
    else this.jumpNew.hidden = false;
  }

  /** Older messages (oldest first) at the top, keeping the view in place. */
  prepend(messages) {
    if (!messages.length) return;
    const s = this.scroller;
    const oldFirst = this.list.firstElementChild;
    // Anchor on the text of the message that was first: it stays put even
    // if it joins a group (and loses its nick line) now.
    const anchor = oldFirst?.querySelector('.text');
    const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    const fromBottom = s.scrollHeight - s.scrollTop;
    const frag = document.createDocumentFragment();
    const added = messages.map((m) => this._messageEl(m));
    frag.append(...added);
    this.list.insertBefore(frag, oldFirst);
    for (const el of added) regroup(el);
    regroup(oldFirst);
    if (anchor) s.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
    else s.scrollTop = s.scrollHeight - fromBottom;
  }

  /** Drops the `n` oldest stored messages from the DOM. */
  dropOldest(n) {
    for (let i = 0; i < n; i++) {
      const first = this.list.firstElementChild;
      if (!first || first.classList.contains('pending')) break;
      first.remove();
    }
    regroup(this.list.firstElementChild);
  }

  addPending(entry) {
    const el = this._pendingEl(entry);
    this.list.append(el);
    regroup(el);
    this.scrollToBottom();
  }

  updatePending(entry) {
    const el = this._findPending(entry.clientId);
    if (!el) return;
    const fresh = this._pendingEl(entry);
    el.replaceWith(fresh);
    regroup(fresh);
    regroup(fresh.nextElementSibling);
  }

  removePending(clientId) {
    const el = this._findPending(clientId);
    if (!el) return;
    const next = el.nextElementSibling;
    el.remove();
    regroup(next);
  }

  _findPending(clientId) {
    for (const el of this.list.querySelectorAll(':scope > .message.pending')) {
      if (el.dataset.clientId === clientId) return el;
    }
    return null;
  }

  _shell(nick, date, extraClass) {
    const el = h('div', { class: `message${extraClass}` });
    el.dataset.nick = nick;
    el.dataset.ts = String(date.getTime());
    if (nick === this.me) el.classList.add('own');
    el.append(h('div', { class: 'meta' }, h('span', { class: 'nick' }, nick), ' ', timeEl(date)));
    return el;
  }

  _messageEl(msg) {
    const el = this._shell(String(msg.nick), new Date(msg.ts), '');
    el.dataset.id = msg.id;
    const text = h('div', { class: 'text' });
    appendFormatted(text, String(msg.text));
    el.append(text);
    return el;
  }

  /** entry: {clientId, nick, text, createdAt, state, statusText} */
  _pendingEl(entry) {
    const failed = entry.state === 'failed';
    const el = this._shell(entry.nick, new Date(entry.createdAt), failed ? ' pending failed' : ' pending');
    el.dataset.clientId = entry.clientId;
    const text = h('div', { class: 'text' });
    appendFormatted(text, entry.text);
    el.append(text);
    const status = h('div', { class: 'status' }, entry.statusText || '');
    if (failed) {
      status.append(
        ' ',
        h('button', { type: 'button', class: 'link-btn', onclick: () => this.actions.onEdit(entry.clientId) }, 'Edit'),
        ' ',
        h('button', { type: 'button', class: 'link-btn', onclick: () => this.actions.onDiscard(entry.clientId) }, 'Discard'),
      );
    }
    el.append(status);
    return el;
  }
}

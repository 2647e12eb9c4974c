/**
 * message-item.js — the elements of one message in the list.
 *
 * Owns: the DOM of a single `.message` (messages-view.js places them):
 * - stored: `.message[data-id]` with `.nick` and `<time class=time>` (its
 *   first line: CSS places them; no wrapper, to keep a message's nodes
 *   few), then, when it replies to one, `button.reply-quote[data-reply-to]` (the
 *   quoted author and text; a click asks `onReply(id)` to show the
 *   original), `.text` (markdown-dom.js), and when there are any
 *   `.extras` with `span.edited` ("(edited)", the edit time as its title)
 *   and `ul.reactions > li.reaction` (emoji and count; who reacted in its
 *   title and, for screen readers, its text; with the log's actions a
 *   `button.reaction-toggle` inside toggles the reader's reaction). With
 *   the log's actions the message is focusable and has a menu button
 *   `button.msg-menu` (message-actions.js opens its panel). `.own` for the reader's own
 *   messages, `.mention` for one that mentions the reader or @here.
 *   A message with files (protocol v1.1 "files") has `.files` after its
 *   text (file-view.js: thumbnails, file cards); with no text, no `.text`.
 * - pending (an outbox entry): `.message.pending[data-client-id]` with a
 *   `.status` line, and Edit / Discard when it failed; with files, their
 *   list and upload progress (file-view.js) and, until it fails, Cancel
 *   (`.cancel-upload`: discards it, aborting the upload).
 * What a stored message shows is decided by message-model.js.
 */

import { h } from './dom.js';
import { fullTime, shortTime } from './format.js';
import { filesEl, pendingFilesEl } from './file-view.js';
import { appendFormatted } from './markdown-dom.js';
import { messageModel, quoteText } from './message-model.js';

function timeEl(date) {
  const valid = !Number.isNaN(date.getTime());
  return h('time', {
    class: 'time',
    datetime: valid ? date.toISOString() : null,
    title: valid ? fullTime(date) : null,
  }, valid ? shortTime(date) : '');
}

/**
 * The frame every message shares: grouping data, then its nick and time
 * straight in the message (no wrapper: CSS lays them out as its first line).
 */
function shell(nick, date, extraClass, own) {
  const el = h('div', { class: `message${extraClass}${own ? ' own' : ''}` });
  el.dataset.nick = nick;
  el.dataset.ts = String(date.getTime());
  el.append(h('span', { class: 'nick' }, nick), ' ', timeEl(date));
  return el;
}

function replyQuote(reply, onReply) {
  return h('button', {
    type: 'button',
    class: `reply-quote${reply.deleted ? ' deleted' : ''}`,
    dataset: { replyTo: reply.id },
    'aria-label': `${reply.label}. Show the original message`,
    onclick: () => onReply(reply.id),
  }, h('span', { class: 'reply-nick' }, reply.nick), ' ', h('span', { class: 'reply-text' }, reply.text));
}

/** The chips; with `onToggle(emoji, on)` (the log's actions) each one is a toggle button. */
function reactionChips(chips, onToggle) {
  const list = h('ul', { class: 'reactions', 'aria-label': 'Reactions' });
  for (const chip of chips) {
    const parts = [
      h('span', { class: 'emoji', 'aria-hidden': 'true' }, chip.emoji),
      h('span', { class: 'count', 'aria-hidden': 'true' }, String(chip.count)),
      h('span', { class: 'sr-only' }, chip.label),
    ];
    const body = onToggle
      ? [h('button', {
        type: 'button', class: 'reaction-toggle', 'aria-pressed': String(chip.mine),
        onclick: () => onToggle(chip.emoji, !chip.mine),
      }, ...parts)]
      : parts;
    list.append(h('li', { class: `reaction${chip.mine ? ' mine' : ''}`, title: chip.label, dataset: { emoji: chip.emoji } }, ...body));
  }
  return list;
}

const filesOf = (x) => (Array.isArray(x?.files) ? x.files.filter((f) => f && typeof f === 'object') : []);

/** The shape of a pending entry's element: when it is unchanged, only its progress moves. */
export function pendingShape(entry) {
  return `${entry.state}|${entry.statusText || ''}|${filesOf(entry).map((f) => (f.fileId ? 1 : 0)).join('')}`;
}

/**
 * A stored message. context: {me, deleted (Set of ids deleted this
 * session), log (the room log's actions are on)}; actions: {onReply(id),
 * and with `log`: onMenu(id, el), onReact(id, emoji, on); files
 * (file-view.js's actions)}.
 */
export function messageEl(msg, context, { onReply, onMenu, onReact, files: fileActions }) {
  const model = messageModel(msg, context);
  const el = shell(model.nick, new Date(model.ts), model.mentioned ? ' mention' : '', model.own);
  el.dataset.id = model.id;
  if (context.log) {
    el.tabIndex = 0; // reachable by keyboard; its menu button shows while it has focus
    el.classList.add('actionable');
    el.addEventListener('keydown', (event) => { // Enter (or the menu key) on the message itself opens its actions
      if (event.target === el && (event.key === 'Enter' || event.key === 'ContextMenu')) {
        event.preventDefault();
        onMenu(model.id, el);
      }
    });
    el.append(h('button', {
      type: 'button', class: 'msg-menu', 'aria-label': `Actions for the message by ${model.nick}`,
      'aria-haspopup': 'true', 'aria-expanded': 'false', title: 'Reply, react, edit…',
      onclick: () => onMenu(model.id, el),
    }, '⋯'));
  }
  if (model.mentioned) el.append(' ', h('span', { class: 'sr-only' }, 'Mentions you'));
  if (model.reply) el.append(replyQuote(model.reply, onReply));
  const files = fileActions ? filesOf(msg) : [];
  if (model.text || !files.length) {
    const text = h('div', { class: 'text' });
    appendFormatted(text, model.text);
    el.append(text);
  }
  if (files.length) el.append(filesEl(files, fileActions));
  if (model.edited || model.reactions.length) {
    const extras = h('div', { class: 'extras' });
    if (model.edited) extras.append(h('span', { class: 'edited', title: model.edited.title }, '(edited)'));
    if (model.reactions.length) {
      extras.append(reactionChips(model.reactions, context.log ? (emoji, on) => onReact(model.id, emoji, on) : null));
    }
    el.append(extras);
  }
  return el;
}

/**
 * An outbox entry {clientId, nick, text, createdAt, state, statusText,
 * reply (the message it answers, when loaded)};
 * actions: {onEdit(clientId), onDiscard(clientId)}.
 */
export function pendingEl(entry, me, { onEdit, onDiscard }) {
  const failed = entry.state === 'failed';
  const el = shell(entry.nick, new Date(entry.createdAt), failed ? ' pending failed' : ' pending', entry.nick === me);
  el.dataset.clientId = entry.clientId;
  el.dataset.shape = pendingShape(entry);
  const files = filesOf(entry);
  if (entry.reply) { // a reply: the quote of its loaded original, as it will show once stored
    el.append(h('div', { class: 'reply-quote pending-quote' },
      h('span', { class: 'reply-nick' }, String(entry.reply.nick ?? '')), ' ', h('span', { class: 'reply-text' }, quoteText(entry.reply.text))));
  }
  if (entry.text || !files.length) {
    const text = h('div', { class: 'text' });
    appendFormatted(text, entry.text);
    el.append(text);
  }
  if (files.length) el.append(pendingFilesEl(files, entry.state === 'sending'));
  const uploading = entry.state === 'sending' && files.some((f) => !f.fileId);
  const status = h('div', { class: 'status' }, uploading ? 'Uploading…' : entry.statusText || '');
  if (files.length && !failed) {
    status.append(' ', h('button', {
      type: 'button', class: 'link-btn cancel-upload', onclick: () => onDiscard(entry.clientId),
    }, 'Cancel'));
  }
  if (failed) {
    status.append(
      ' ',
      h('button', { type: 'button', class: 'link-btn', onclick: () => onEdit(entry.clientId) }, 'Edit'),
      ' ',
      h('button', { type: 'button', class: 'link-btn', onclick: () => onDiscard(entry.clientId) }, 'Discard'),
    );
  }
  el.append(status);
  return el;
}

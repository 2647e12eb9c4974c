/**
 * message-item.js — the elements of one message in the list.
 *
 * Owns: the DOM of a single `.message` (messages-view.js places them):
 * - stored: `.message[data-id]` with `.meta` (`.nick`, `<time class=time>`),
 *   then, when it replies to one, `button.reply-quote[data-reply-to]` (the
 *   quoted author and text; a click asks `onReply(id)` to show the
 *   original), `.text` (markdown-dom.js), and when there are any
 *   `.extras` with `span.edited` ("(edited)", the edit time as its title)
 *   and `ul.reactions > li.reaction` (emoji and count; who reacted in its
 *   title and, for screen readers, its text). `.own` for the reader's own
 *   messages, `.mention` for one that mentions the reader or @here.
 * - pending (an outbox entry): `.message.pending[data-client-id]` with a
 *   `.status` line, and Edit / Discard when it failed.
 * What a stored message shows is decided by message-model.js.
 */

import { h } from './dom.js';
import { fullTime, shortTime } from './format.js';
import { appendFormatted } from './markdown-dom.js';
import { messageModel } from './message-model.js';

function timeEl(date) {
  const valid = !Number.isNaN(date.getTime());
  return h('time', {
    class: 'time',
    datetime: valid ? date.toISOString() : null,
    title: valid ? fullTime(date) : null,
  }, valid ? shortTime(date) : '');
}

/** The frame every message shares: grouping data and the meta line. */
function shell(nick, date, extraClass, own) {
  const el = h('div', { class: `message${extraClass}${own ? ' own' : ''}` });
  el.dataset.nick = nick;
  el.dataset.ts = String(date.getTime());
  el.append(h('div', { class: 'meta' }, h('span', { class: 'nick' }, nick), ' ', timeEl(date)));
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

function reactionChips(chips) {
  const list = h('ul', { class: 'reactions', 'aria-label': 'Reactions' });
  for (const chip of chips) {
    list.append(h('li', { class: `reaction${chip.mine ? ' mine' : ''}`, title: chip.label },
      h('span', { class: 'emoji', 'aria-hidden': 'true' }, chip.emoji),
      h('span', { class: 'count', 'aria-hidden': 'true' }, String(chip.count)),
      h('span', { class: 'sr-only' }, chip.label)));
  }
  return list;
}

/**
 * A stored message. context: {me, deleted (Set of ids deleted this
 * session)}; actions: {onReply(id)}.
 */
export function messageEl(msg, context, { onReply }) {
  const model = messageModel(msg, context);
  const el = shell(model.nick, new Date(model.ts), model.mentioned ? ' mention' : '', model.own);
  el.dataset.id = model.id;
  if (model.mentioned) el.querySelector('.meta').append(' ', h('span', { class: 'sr-only' }, 'Mentions you'));
  if (model.reply) el.append(replyQuote(model.reply, onReply));
  const text = h('div', { class: 'text' });
  appendFormatted(text, model.text);
  el.append(text);
  if (model.edited || model.reactions.length) {
    const extras = h('div', { class: 'extras' });
    if (model.edited) extras.append(h('span', { class: 'edited', title: model.edited.title }, '(edited)'));
    if (model.reactions.length) extras.append(reactionChips(model.reactions));
    el.append(extras);
  }
  return el;
}

/**
 * An outbox entry {clientId, nick, text, createdAt, state, statusText};
 * actions: {onEdit(clientId), onDiscard(clientId)}.
 */
export function pendingEl(entry, me, { onEdit, onDiscard }) {
  const failed = entry.state === 'failed';
  const el = shell(entry.nick, new Date(entry.createdAt), failed ? ' pending failed' : ' pending', entry.nick === me);
  el.dataset.clientId = entry.clientId;
  const text = h('div', { class: 'text' });
  appendFormatted(text, entry.text);
  el.append(text);
  const status = h('div', { class: 'status' }, entry.statusText || '');
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
